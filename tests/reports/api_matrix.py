from __future__ import annotations

from apps.reports.models import ReportBatch
from tests.api_matrix import Case


def _list(world) -> dict:
    return {"path": {}, "query": {"org": world.tree.branch_a.pk, "quarter": "2026-Q1"}}


def _build(world) -> dict:
    return {
        "path": {},
        "data": {"org": world.tree.branch_a.pk, "quarter": "2026-Q1", "scope": "self"},
    }


def _batch(world) -> dict:
    batch = ReportBatch.objects.create(root=world.tree.branch_a, year=2026, quarter=1, single=True)
    return {"path": {"id": batch.pk}}


READERS = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200, "member": 403}

CASES = [
    Case("get", "/api/v1/reports/", _list, note="branch_a", expect=READERS),
    # Building: 组织部 (superior) and the branch's own secretary/committee; the sysadmin only views.
    Case(
        "post",
        "/api/v1/reports/build/",
        _build,
        note="branch_a",
        expect={"admin": 403, "staff": 202, "secretary": 202, "committee": 202, "member": 403},
    ),
    Case("get", "/api/v1/reports/batches/{id}/", _batch, note="branch_a", expect=READERS),
]
