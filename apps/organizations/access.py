"""Who may do what to an org (one place, used by pages and API alike).

- Tree structure (create a child, edit attributes, move, merge, abolish): `admin_tree` over the
  org (系统管理员 of a node above it). Moving or merging also needs `admin_tree` over the target.
- Committee (班子) and term (换届) records of an org: `admin_tree` or `branch_write` over it — a
  branch secretary keeps their own branch's committee and term up to date, records the request
  and the election.
- Approvals that the regulations give to the superior (approve the 换届请示, approve the election
  result, approve an extension): `superior` (组织部/上级党委 staff) or `admin_tree` over the org.

Outside the user's scope is always a 404 (like a missing id); visible but not allowed is a 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.accounts import scope


def _require_any(user, org, capabilities: tuple[str, ...]) -> None:
    scope.require(user, "view", org)
    if not any(scope.can(user, cap, org) for cap in capabilities):
        raise PermissionDenied("没有权限执行此操作。")


def require_tree_admin(user, org) -> None:
    scope.require(user, "admin_tree", org)


def require_committee_write(user, org) -> None:
    _require_any(user, org, ("admin_tree", "branch_write"))


def require_term_approve(user, org) -> None:
    _require_any(user, org, ("admin_tree", "superior"))


def may(user, org) -> dict[str, bool]:
    """Flags for templates: which buttons to show."""
    return {
        "tree": scope.can(user, "admin_tree", org),
        "committee": any(scope.can(user, c, org) for c in ("admin_tree", "branch_write")),
        "approve": any(scope.can(user, c, org) for c in ("admin_tree", "superior")),
    }
