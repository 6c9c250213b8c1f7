"""Pages: inbox, badge, mark read, open, preferences."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import InboxItem, Preference

pytestmark = pytest.mark.django_db


def item(user, title="会议提醒", url="/meetings/1/", read=False):
    return InboxItem.objects.create(
        user=user,
        title=title,
        url=url,
        created_at=timezone.now(),
        read_at=timezone.now() if read else None,
    )


def test_inbox_shows_only_my_items_and_the_unread_count(users, client_for):
    item(users.secretary, "我的提醒")
    item(users.secretary, "已读提醒", read=True)
    item(users.outsider, "别人的提醒")
    response = client_for(users.secretary).get(reverse("notifications:inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "我的提醒" in html and "已读提醒" in html and "别人的提醒" not in html
    assert "1 条未读" in html
    unread = (
        client_for(users.secretary)
        .get(reverse("notifications:inbox") + "?unread=1")
        .content.decode()
    )
    assert "我的提醒" in unread and "已读提醒" not in unread


def test_header_badge_polls_the_unread_count(users, client_for):
    item(users.secretary)
    client = client_for(users.secretary)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert f'hx-get="{reverse("notifications:unread")}"' in page
    badge = client.get(reverse("notifications:unread")).content.decode()
    assert ">1<" in badge
    item(users.secretary)
    assert ">2<" in client.get(reverse("notifications:unread")).content.decode()


def test_mark_read_with_htmx_returns_the_item(users, client_for):
    mine = item(users.secretary)
    response = client_for(users.secretary).post(
        reverse("notifications:read", args=[mine.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "已读" in response.content.decode()
    assert response["HX-Trigger"] == "inbox-changed"
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_someone_elses_item_is_a_404(users, client_for):
    theirs = item(users.outsider)
    client = client_for(users.secretary)
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_follows_the_link_and_marks_read(users, client_for):
    mine = item(users.secretary, url="/meetings/7/")
    response = client_for(users.secretary).get(reverse("notifications:open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == "/meetings/7/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    evil = item(users.secretary, url="https://evil.example/")
    assert client_for(users.secretary).get(reverse("notifications:open", args=[evil.pk]))[
        "Location"
    ] == reverse("notifications:inbox")


def test_mark_all_read(users, client_for):
    item(users.secretary)
    item(users.secretary)
    response = client_for(users.secretary).post(reverse("notifications:read_all"), follow=True)
    assert "已将 2 条通知标为已读" in response.content.decode()
    assert not InboxItem.objects.filter(user=users.secretary, read_at__isnull=True).exists()


def test_preferences_page(users, client_for):
    user = users.secretary
    user.email = "sec@example.org"
    user.set_phone("13812345678")
    user.save()
    client = client_for(user)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    response = client.post(reverse("notifications:preferences"), {"email": "on"})
    assert response.status_code == 302
    assert dict(Preference.objects.filter(user=user).values_list("channel", "enabled")) == {
        "email": True,
        "sms": False,
    }


def test_preferences_refuses_sms_without_a_phone(users, client_for):
    response = client_for(users.committee).post(reverse("notifications:preferences"), {"sms": "on"})
    assert response.status_code == 400
    assert "尚未登记手机号" in response.content.decode()
    assert not Preference.objects.exists()


def test_pages_need_sign_in(client):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302 and "login" in response["Location"]
