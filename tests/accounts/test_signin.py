import pytest

from apps.core.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def test_sign_in_page_is_chinese(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "基层党建工作管理平台" in response.content.decode()


def test_sign_in_with_username_is_audited(client, users):
    response = client.post("/accounts/login/", {"username": "secretary", "password": "pass-12345"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=users.secretary).exists()


def test_sign_in_with_phone(client, users):
    users.secretary.set_phone("13812345678")
    users.secretary.save()
    response = client.post(
        "/accounts/login/", {"username": "13812345678", "password": "pass-12345"}
    )
    assert response.status_code == 302


def test_failed_sign_in_shows_chinese_error_and_is_audited(client, users):
    response = client.post("/accounts/login/", {"username": "secretary", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名（手机号）或密码不正确" in response.content.decode()
    assert AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, object_repr="secretary"
    ).exists()


def test_phone_is_not_stored_in_clear(users):
    from django.db import connection

    users.secretary.set_phone("13812345678")
    users.secretary.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, phone_masked FROM accounts_user WHERE id = %s", [users.secretary.pk]
        )
        stored, masked = cursor.fetchone()
    assert "13812345678" not in stored
    assert masked == "138****5678"
