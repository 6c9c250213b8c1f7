import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.accounts import scope
from apps.members.models import Member

pytestmark = pytest.mark.django_db


def test_staff_sees_only_their_subtree(tree, users):
    visible = set(scope.orgs_visible_to(users.staff).values_list("name", flat=True))
    assert visible == {"甲镇党委", "甲村党支部", "乙村党支部", "甲村第一党小组"}


def test_outsider_gets_404_not_403(tree, users):
    with pytest.raises(Http404):
        scope.get_org_or_404(users.outsider, tree.branch_a.pk)


def test_read_only_role_gets_403_on_write(tree, users):
    with pytest.raises(PermissionDenied):
        scope.require(users.staff, "branch_write", tree.branch_a)
    scope.require(users.secretary, "branch_write", tree.branch_a)


def test_scoped_ids_rejects_any_id_outside(tree, users):
    with pytest.raises(Http404):
        scope.scoped_ids(
            scope.orgs_visible_to(users.secretary),
            users.secretary,
            [tree.branch_a.pk, tree.branch_c.pk],
            path_field="path",
        )


def test_member_role_sees_own_branch_only_and_no_member_list(tree, users):
    assert list(scope.orgs_visible_to(users.member)) == [tree.branch_a]
    assert not scope.scoped(Member.objects.all(), users.member, path_field="branch__path").exists()
