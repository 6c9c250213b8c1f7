"""Unit tests send synchronously: `_queue` (publishing to the broker) is replaced by a list the
test drains with `drain(queued)`. Integration tests (marked `integration`) keep the real broker."""

from __future__ import annotations

import pytest

from apps.notifications import services
from apps.notifications.sms import LocmemSMSBackend


@pytest.fixture(autouse=True)
def queued(request, monkeypatch):
    if "integration" in request.keywords:
        return None
    box: list[int] = []
    monkeypatch.setattr(services, "_queue", lambda ids: box.extend(ids))
    return box


@pytest.fixture
def sms_outbox(settings):
    settings.SMS_BACKEND = "apps.notifications.sms.LocmemSMSBackend"
    LocmemSMSBackend.outbox = []
    return LocmemSMSBackend.outbox


def drain(queued: list[int]) -> list[str]:
    """Run the send task for every queued id, in order (what a worker would do)."""
    results = []
    while queued:
        results.append(services.delivery_send(delivery_id=queued.pop(0)))
    return results
