"""The role x endpoint matrix (STYLE.md #11), generated from the OpenAPI schema.

- `test_every_endpoint_has_a_case` lists every (method, path) of the schema that no
  `tests/<app>/api_matrix.py` covers, and every case whose (method, path) is not in the schema.
- `test_case` runs each case once per role of `tests/api_matrix.py: ROLES` and checks the
  status code (test id: `<METHOD> <path> <note>-<role>`).

Case format: see tests/api_matrix.py.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest

from tests.api_matrix import ROLES, Case

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Endpoints that describe the API itself; they need no case.
EXEMPT: set[tuple[str, str]] = {("GET", "/api/v1/schema/"), ("GET", "/api/v1/docs/")}


def _collect_cases() -> list[Case]:
    cases: list[Case] = []
    here = Path(__file__).resolve().parent
    for module_file in sorted(here.glob("*/api_matrix.py")):
        module = importlib.import_module(f"tests.{module_file.parent.name}.api_matrix")
        cases.extend(getattr(module, "CASES", []))
    return cases


@cache
def schema_endpoints() -> frozenset[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return frozenset(
        (method.upper(), path)
        for path, operations in schema.get("paths", {}).items()
        for method in operations
        if method in HTTP_METHODS
    )


CASES = _collect_cases()
PARAMS = [
    pytest.param(
        case,
        role,
        id=f"{case.method.upper()} {case.path}{' ' + case.note if case.note else ''}-{role}",
    )
    for case in CASES
    for role in ROLES
]


def test_every_endpoint_has_a_case():
    covered = {(case.method.upper(), case.path) for case in CASES}
    endpoints = schema_endpoints()
    missing = sorted(endpoints - covered - EXEMPT)
    stale = sorted(covered - endpoints)
    problems = []
    if missing:
        problems.append(
            "API endpoints without a case in tests/<app>/api_matrix.py:\n"
            + "\n".join(f"  {method} {path}" for method, path in missing)
        )
    if stale:
        problems.append(
            "cases for endpoints that are not in the OpenAPI schema:\n"
            + "\n".join(f"  {method} {path}" for method, path in stale)
        )
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "role"), PARAMS)
def test_case(case: Case, role: str, tree, users):
    from rest_framework.test import APIClient

    user = None if role == "anon" else getattr(users, role)
    world = SimpleNamespace(tree=tree, users=users, role=role, user=user)
    built = case.build(world) or {}
    url = case.path.format(**built.get("path", {}))
    if built.get("query"):
        url = f"{url}?{urlencode(built['query'], doseq=True)}"
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    method = case.method.lower()
    data = built.get("data")
    if data is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(
            url, data=json.dumps(data), content_type="application/json"
        )
    expected = case.expected(role)
    body = response.content.decode(errors="replace")[:500]
    assert response.status_code == expected, (
        f"{case.method.upper()} {url} as {role}: "
        f"expected {expected}, got {response.status_code}: {body}"
    )
