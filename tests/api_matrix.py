"""The role x endpoint matrix (STYLE.md #11).

Every app lists its API cases in `tests/<app>/api_matrix.py` as `CASES = [Case(...), ...]`.
`tests/test_api_matrix.py` reads the OpenAPI schema and fails when an endpoint (method + path)
has no case, then runs every case once per role and checks the status code.

Roles are the users of the `users` fixture in tests/conftest.py — admin (系统管理员 at the county),
staff (组织部 at town_a), secretary and committee (branch_a), member (ordinary member of branch_a),
outsider (secretary of branch_c, another subtree), nobody (no grants) — plus "anon" (not signed in).
A role missing from `expect` defaults to `default` (404 unless given).

`build(world)` receives a namespace with `tree`, `users` and `role` (the role being tested) and
returns a dict with `path` (values for the path template's {placeholders}) and optionally
`data` (the request body, sent as JSON) and `query` (query-string parameters). It runs once per
role inside that role's own transaction, so it may create the objects the case needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("admin", "staff", "secretary", "committee", "member", "outsider", "nobody", "anon")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as in the OpenAPI schema, e.g. "/api/v1/orgs/{id}/"
    build: Callable[[Any], dict] = lambda world: {"path": {}}
    expect: dict[str, int] = field(default_factory=dict)
    default: int = 404
    note: str = ""

    def expected(self, role: str) -> int:
        if role in self.expect:
            return self.expect[role]
        if role == "anon":
            return 403  # DRF answers 403 to an anonymous session client ("未提供身份认证信息")
        return self.default
