"""Role x endpoint cases for the organizations API (format: tests/api_matrix.py).

Who sees what in the `tree` fixture: admin (系统管理员, county) everything; staff (组织部, town_a)
town_a's subtree; secretary / committee (branch_a) branch_a and its 党小组; member (党员 of
branch_a) the branch_a node only; outsider (branch_c) another subtree; nobody nothing.
Tree writes need admin_tree; committee/term records admin_tree or branch_write; approvals
admin_tree or superior (apps/organizations/access.py).
"""

from __future__ import annotations

import datetime as dt

from apps.organizations import services
from apps.organizations.models import OrgType, Position
from tests.api_matrix import Case
from tests.factories import MemberFactory, make_org

SEE_BRANCH_A = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200, "member": 200}
EVERY_SIGNED_IN = {**SEE_BRANCH_A, "outsider": 200, "nobody": 200}
TREE_WRITE = {"admin": 200, "staff": 403, "secretary": 403, "committee": 403, "member": 403}
# on a fresh 党小组 under branch_a: the member role does not see it (only its own branch node)
TREE_WRITE_NEW_GROUP = {"admin": 200, "staff": 403, "secretary": 403, "committee": 403}
COMMITTEE_WRITE = {"admin": 200, "secretary": 200, "committee": 200, "staff": 403, "member": 403}
# rows under branch_a reached through the scoped door (the member role has no `view` there)
ROW_READ = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200}
ROW_COMMITTEE_WRITE = {"admin": 200, "secretary": 200, "committee": 200, "staff": 403}
ROW_APPROVE = {"admin": 200, "staff": 200, "secretary": 403, "committee": 403}

D = dt.date


def _a(w):
    return {"path": {"id": w.tree.branch_a.pk}}


def _new_group(w):
    return make_org(w.tree.branch_a, org_type=OrgType.PARTY_GROUP)


def _term(w, steps=0):
    term = services.term_start(
        actor=None, org=w.tree.branch_a, elected_on=D(2020, 1, 1), term_years=5
    )
    if steps >= 1:
        term = services.term_request_submit(actor=None, term=term, on=D(2024, 11, 1))
    if steps >= 2:
        term = services.term_request_approve(actor=None, term=term, on=D(2024, 11, 20))
    if steps >= 3:
        term = services.term_election_record(actor=None, term=term, held_on=D(2024, 12, 20))
    return term


def _position(w):
    member = MemberFactory(branch=w.tree.branch_a)
    return services.committee_position_assign(
        actor=None,
        org=w.tree.branch_a,
        member=member,
        position=Position.ORGANIZATION,
        started_on=D(2023, 1, 1),
    )


CASES = [
    Case("GET", "/api/v1/orgs/", expect=EVERY_SIGNED_IN),
    Case(
        "GET",
        "/api/v1/orgs/",
        note="parent filter",
        build=lambda w: {"path": {}, "query": {"parent": w.tree.branch_a.pk}},
        expect=SEE_BRANCH_A,
    ),
    Case(
        "POST",
        "/api/v1/orgs/",
        build=lambda w: {
            "path": {},
            "data": {
                "parent": w.tree.branch_a.pk,
                "name": "新党小组",
                "code": f"API-{w.role}",
                "org_type": OrgType.PARTY_GROUP,
            },
        },
        expect={**TREE_WRITE, "admin": 201},
    ),
    Case("GET", "/api/v1/orgs/{id}/", build=_a, expect=SEE_BRANCH_A),
    Case(
        "PATCH",
        "/api/v1/orgs/{id}/",
        build=lambda w: {**_a(w), "data": {"name": "甲村党支部（新）"}},
        expect=TREE_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/orgs/{id}/move/",
        build=lambda w: {
            "path": {"id": _new_group(w).pk},
            "data": {"parent": w.tree.branch_b.pk, "on": "2024-05-01"},
        },
        expect=TREE_WRITE_NEW_GROUP,
    ),
    Case(
        "POST",
        "/api/v1/orgs/{id}/merge/",
        build=lambda w: {"path": {"id": _new_group(w).pk}, "data": {"into": w.tree.group_a.pk}},
        expect=TREE_WRITE_NEW_GROUP,
    ),
    Case(
        "POST",
        "/api/v1/orgs/{id}/abolish/",
        build=lambda w: {"path": {"id": _new_group(w).pk}, "data": {"reason": "撤并"}},
        expect=TREE_WRITE_NEW_GROUP,
    ),
    Case("GET", "/api/v1/orgs/{id}/children/", build=_a, expect=SEE_BRANCH_A),
    Case("GET", "/api/v1/orgs/{id}/warnings/", build=_a, expect=SEE_BRANCH_A),
    Case(
        "GET",
        "/api/v1/orgs/{id}/warnings/",
        note="subtree",
        build=lambda w: {**_a(w), "query": {"subtree": "1"}},
        expect=SEE_BRANCH_A,
    ),
    Case("GET", "/api/v1/orgs/{id}/positions/", build=_a, expect=SEE_BRANCH_A),
    Case(
        "POST",
        "/api/v1/orgs/{id}/positions/",
        build=lambda w: {
            **_a(w),
            "data": {
                "member": MemberFactory(branch=w.tree.branch_a).pk,
                "position": Position.MEMBER,
                "started_on": "2024-01-01",
            },
        },
        expect={**COMMITTEE_WRITE, "admin": 201, "secretary": 201, "committee": 201},
    ),
    Case(
        "POST",
        "/api/v1/positions/{id}/end/",
        build=lambda w: {"path": {"id": _position(w).pk}, "data": {"ended_on": "2024-06-30"}},
        expect=ROW_COMMITTEE_WRITE,
    ),
    Case("GET", "/api/v1/orgs/{id}/terms/", build=_a, expect=SEE_BRANCH_A),
    Case(
        "POST",
        "/api/v1/orgs/{id}/terms/",
        build=lambda w: {**_a(w), "data": {"elected_on": "2021-01-01"}},
        expect={**COMMITTEE_WRITE, "admin": 201, "secretary": 201, "committee": 201},
    ),
    Case(
        "GET", "/api/v1/terms/{id}/", build=lambda w: {"path": {"id": _term(w).pk}}, expect=ROW_READ
    ),
    Case(
        "POST",
        "/api/v1/terms/{id}/submit-request/",
        build=lambda w: {"path": {"id": _term(w).pk}, "data": {"on": "2024-11-01"}},
        expect=ROW_COMMITTEE_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/terms/{id}/approve-request/",
        build=lambda w: {"path": {"id": _term(w, 1).pk}, "data": {"on": "2024-11-20"}},
        expect=ROW_APPROVE,
    ),
    Case(
        "POST",
        "/api/v1/terms/{id}/record-election/",
        build=lambda w: {"path": {"id": _term(w, 2).pk}, "data": {"on": "2024-12-20"}},
        expect=ROW_COMMITTEE_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/terms/{id}/approve-result/",
        build=lambda w: {"path": {"id": _term(w, 3).pk}, "data": {"on": "2024-12-30"}},
        expect=ROW_APPROVE,
    ),
    Case(
        "POST",
        "/api/v1/terms/{id}/extend/",
        build=lambda w: {
            "path": {"id": _term(w).pk},
            "data": {"until": "2025-06-01", "reason": "统一换届"},
        },
        expect=ROW_APPROVE,
    ),
]
