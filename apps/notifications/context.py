"""Template context: where the header's unread badge fetches its count (no query here: the
badge loads the count with HTMX after the page)."""

from __future__ import annotations

from django.urls import reverse


def unread_badge(request) -> dict:
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    return {
        "unread_url": reverse("notifications:unread"),
        "inbox_url": reverse("notifications:inbox"),
    }
