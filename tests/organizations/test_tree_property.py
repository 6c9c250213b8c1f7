"""Property test: the scoped subtree selectors agree with a naive walk over `parent` on random
trees, after random moves, for random role grants."""

import contextlib
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts import scope
from apps.accounts.models import Role, RoleGrant
from apps.organizations import selectors, services
from apps.organizations.models import Org, OrgType
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=False)

_codes = itertools.count(1)
VIEW_ROLES = {Role.SYSADMIN, Role.ORG_STAFF, Role.SECRETARY, Role.COMMITTEE}


def naive_descendants(org_id: int, parent_of: dict[int, int | None]) -> set[int]:
    found = set()
    for node in parent_of:
        walk = node
        while walk is not None:
            if walk == org_id:
                found.add(node)
                break
            walk = parent_of[walk]
    return found


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parents=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30),
    moves=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=6),
    grants=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(list(Role))), max_size=4),
)
def test_scoped_subtree_matches_a_naive_walk(db, parents, moves, grants):
    with transaction.atomic():
        root = services.org_create(
            actor=None,
            parent=None,
            name="根",
            code=f"P{next(_codes)}",
            org_type=OrgType.LOCAL_COMMITTEE,
        )
        nodes = [root]
        for choice in parents:
            parent = Org.objects.get(pk=nodes[choice % len(nodes)].pk)
            nodes.append(
                services.org_create(
                    actor=None,
                    parent=parent,
                    name="节点",
                    code=f"P{next(_codes)}",
                    org_type=OrgType.PRIMARY_COMMITTEE,
                )
            )
        for a, b in moves:
            org, target = nodes[1 + a % (len(nodes) - 1)], nodes[b % len(nodes)]
            # under itself / its descendant / already there: refused, nothing changed
            with contextlib.suppress(ValidationError):
                services.org_move(actor=None, org=org, new_parent=target)

        parent_of = dict(Org.objects.values_list("id", "parent_id"))
        for org in Org.objects.all():
            assert set(
                Org.objects.subtree_of(org).values_list("id", flat=True)
            ) == naive_descendants(org.pk, parent_of)

        user = UserFactory()
        expected: set[int] = set()
        for index, role in grants:
            org = nodes[index % len(nodes)]
            RoleGrant.objects.get_or_create(user=user, org=org, role=role)
            expected |= naive_descendants(org.pk, parent_of) if role in VIEW_ROLES else {org.pk}
        scope.forget_scope(user)
        assert set(scope.orgs_visible_to(user).values_list("id", flat=True)) == expected
        some = Org.objects.get(pk=nodes[len(parents) // 2].pk)
        visible_part = set(selectors.org_subtree(user=user, org=some).values_list("id", flat=True))
        assert visible_part == naive_descendants(some.pk, parent_of) & expected
        transaction.set_rollback(True)
