"""Role x endpoint cases for the accounts and core API (format: tests/api_matrix.py)."""

from __future__ import annotations

from tests.api_matrix import Case

SIGNED_IN = ("admin", "staff", "secretary", "committee", "member", "outsider", "nobody")
EVERY_SIGNED_IN = {r: 200 for r in SIGNED_IN}


def _secretary(w):
    return {"path": {"id": w.users.secretary.pk}}


def _secretary_grant(w):
    return {"path": {"id": w.users.secretary.grants.get().pk}}


def _new_user(w):
    return {
        "path": {},
        "data": {"username": f"new-{w.role}", "full_name": "新用户", "password": "Dangjian-2026"},
    }


def _audit_entry(w):
    from apps.core.audit import audit_log
    from apps.core.models import AuditAction

    entry = audit_log(actor=None, action=AuditAction.UPDATE, obj=w.tree.branch_a, verb="test")
    return {"path": {"id": entry.pk}}


def _member_record(w, reason="核对党员信息"):
    from tests.factories import MemberFactory

    member = MemberFactory(branch=w.tree.branch_a)
    member.set_id_number("110101199003071234")
    member.save()
    return {
        "path": {},
        "data": {
            "object": "members.member",
            "id": member.pk,
            "field": "id_number",
            "reason": reason,
        },
    }


CASES = [
    Case("GET", "/api/v1/me/", expect=EVERY_SIGNED_IN),
    Case(
        "POST",
        "/api/v1/me/password/",
        build=lambda w: {
            "path": {},
            "data": {"old_password": "pass-12345", "new_password": "Dangjian-2026"},
        },
        expect={r: 204 for r in SIGNED_IN},
    ),
    Case(
        "POST",
        "/api/v1/auth/token/",
        build=lambda w: {"path": {}, "data": {"username": "secretary", "password": "pass-12345"}},
        default=200,
        expect={"anon": 200},
        note="good password",
    ),
    Case(
        "POST",
        "/api/v1/auth/token/",
        build=lambda w: {"path": {}, "data": {"username": "secretary", "password": "wrong"}},
        default=400,
        expect={"anon": 400},
        note="bad password",
    ),
    # Users: only the 系统管理员 lists or changes them; a user outside one's subtree is a 404.
    Case("GET", "/api/v1/users/", expect={"admin": 200}, default=403),
    Case("POST", "/api/v1/users/", build=_new_user, expect={"admin": 201}, default=403),
    Case("GET", "/api/v1/users/{id}/", build=_secretary, expect={"admin": 200}),
    Case(
        "PATCH",
        "/api/v1/users/{id}/",
        build=lambda w: {**_secretary(w), "data": {"full_name": "改名"}},
        expect={"admin": 200},
    ),
    Case("POST", "/api/v1/users/{id}/deactivate/", build=_secretary, expect={"admin": 200}),
    Case("POST", "/api/v1/users/{id}/activate/", build=_secretary, expect={"admin": 200}),
    Case(
        "POST",
        "/api/v1/users/{id}/password/",
        build=lambda w: {**_secretary(w), "data": {"password": "Dangjian-2026"}},
        expect={"admin": 204},
    ),
    # Grants
    Case("GET", "/api/v1/grants/", expect={"admin": 200}, default=403),
    Case(
        "POST",
        "/api/v1/grants/",
        build=lambda w: {
            "path": {},
            "data": {"user": w.users.committee.pk, "org": w.tree.branch_b.pk, "role": "member"},
        },
        expect={"admin": 201},
        default=403,
    ),
    Case("GET", "/api/v1/grants/{id}/", build=_secretary_grant, expect={"admin": 200}),
    Case("DELETE", "/api/v1/grants/{id}/", build=_secretary_grant, expect={"admin": 204}),
    # Audit log
    Case("GET", "/api/v1/audit/", expect={"admin": 200}, default=403),
    Case("GET", "/api/v1/audit/{id}/", build=_audit_entry, expect={"admin": 200}),
    # Personal data reveal: needs `reveal` on the member's branch (staff, secretary); the admin
    # and the 支委 see the branch but may not reveal (403); the rest do not see it (404).
    Case(
        "POST",
        "/api/v1/reveal/",
        build=_member_record,
        expect={"staff": 200, "secretary": 200, "admin": 403, "committee": 403},
    ),
    Case(
        "POST",
        "/api/v1/reveal/",
        build=lambda w: _member_record(w, reason=""),
        expect={"staff": 400, "secretary": 400, "admin": 403, "committee": 403},
        note="no reason",
    ),
]
