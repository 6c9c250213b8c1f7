"""Role x endpoint cases for the notifications API (format: tests/api_matrix.py).

The inbox and preferences are the signed-in user's own: every signed-in role gets 200 on its
own items; another user's item is a 404 for everyone (nobody reads another person's inbox)."""

from __future__ import annotations

from django.utils import timezone

from tests.api_matrix import Case

EVERY_SIGNED_IN = {
    r: 200 for r in ("admin", "staff", "secretary", "committee", "member", "outsider", "nobody")
}


def _item_of(user):
    from apps.notifications.models import InboxItem

    if user is None:
        from apps.accounts.models import User

        user = User.objects.get(username="secretary")
    return InboxItem.objects.create(user=user, title="测试通知", created_at=timezone.now())


def own_item(world) -> dict:
    return {"path": {"id": _item_of(world.user).pk}}


def someone_elses_item(world) -> dict:
    return {
        "path": {
            "id": _item_of(
                world.users.outsider if world.role != "outsider" else world.users.staff
            ).pk
        }
    }


CASES = [
    Case("GET", "/api/v1/notifications/inbox/", expect=EVERY_SIGNED_IN),
    Case(
        "GET",
        "/api/v1/notifications/inbox/",
        build=lambda w: {"path": {}, "query": {"unread": "1"}},
        expect=EVERY_SIGNED_IN,
        note="unread only",
    ),
    Case(
        "POST",
        "/api/v1/notifications/inbox/{id}/read/",
        build=own_item,
        expect=EVERY_SIGNED_IN,
        note="own item",
    ),
    Case(
        "POST",
        "/api/v1/notifications/inbox/{id}/read/",
        build=someone_elses_item,
        default=404,
        note="another user's item",
    ),
    Case("POST", "/api/v1/notifications/inbox/read-all/", expect=EVERY_SIGNED_IN),
    Case("GET", "/api/v1/notifications/preferences/", expect=EVERY_SIGNED_IN),
    Case(
        "PATCH",
        "/api/v1/notifications/preferences/",
        build=lambda w: {"path": {}, "data": {"email": False}},
        expect=EVERY_SIGNED_IN,
    ),
    Case(
        "PATCH",
        "/api/v1/notifications/preferences/",
        build=lambda w: {"path": {}, "data": {"inbox": False}},
        default=400,
        note="inbox cannot be switched off",
    ),
]
