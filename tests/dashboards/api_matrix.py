from __future__ import annotations

from tests.api_matrix import Case


def _branch_a(world) -> dict:
    return {"path": {"id": world.tree.branch_a.pk}}


def _county(world) -> dict:
    return {"path": {"id": world.tree.county.pk}, "query": {"quarter": "2026-Q1"}}


CASES = [
    # branch_a: everyone above it or at it may read; the 党员 role is read-only on its own branch
    # page but has no dashboard (403); another subtree and no grant are 404.
    Case(
        "get",
        "/api/v1/dashboards/orgs/{id}/",
        _branch_a,
        note="branch_a",
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200, "member": 403},
    ),
    Case("get", "/api/v1/dashboards/orgs/{id}/", _county, note="county", expect={"admin": 200}),
]
