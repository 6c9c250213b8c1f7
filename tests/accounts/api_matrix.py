"""Role x endpoint cases for the accounts API (format: tests/api_matrix.py)."""

from __future__ import annotations

from tests.api_matrix import Case

EVERY_SIGNED_IN = {
    r: 200 for r in ("admin", "staff", "secretary", "committee", "member", "outsider", "nobody")
}

CASES = [
    Case("GET", "/api/v1/me/", expect=EVERY_SIGNED_IN),
    Case(
        "POST",
        "/api/v1/auth/token/",
        build=lambda w: {"path": {}, "data": {"username": "secretary", "password": "pass-12345"}},
        default=200,
        expect={"anon": 200},
        note="good password",
    ),
]
