import base64
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
K1 = "k1:" + base64.urlsafe_b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.urlsafe_b64encode(b"2" * 32).decode()


def _raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _run(*args):
    out = io.StringIO()
    call_command("rotate_field_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_rotation_re_encrypts_under_the_new_key_idempotently(tree, users):
    with override_settings(FIELD_ENCRYPTION_KEYS=K1):
        member = MemberFactory(branch=tree.branch_a)
        member.set_id_number("110101199003071234")
        member.save()
        users.secretary.set_phone("13812345678")
        users.secretary.save()
    assert _raw("members_member", "id_number", member.pk).startswith("v1:k1:")

    with override_settings(FIELD_ENCRYPTION_KEYS=f"{K2},{K1}"):
        dry = _run("--dry-run", "--batch-size", "1")
        assert "members.Member.id_number: k1: 1" in dry and "would re-encrypt 2 value(s)" in dry
        assert _raw("members_member", "id_number", member.pk).startswith("v1:k1:")

        report = _run("--batch-size", "1")
        assert "re-encrypted 2 value(s)" in report
        assert _raw("members_member", "id_number", member.pk).startswith("v1:k2:")
        assert _raw("accounts_user", "phone", users.secretary.pk).startswith("v1:k2:")
        member.refresh_from_db()
        assert member.id_number == "110101199003071234"

        again = _run()
        assert "re-encrypted 0 value(s)" in again and "members.Member.id_number: k2: 1" in again

    # the old key can now be dropped
    with override_settings(FIELD_ENCRYPTION_KEYS=K2):
        member.refresh_from_db()
        assert member.id_number == "110101199003071234"


def test_value_under_a_missing_key_is_reported_not_touched(tree):
    with override_settings(FIELD_ENCRYPTION_KEYS=K1):
        member = MemberFactory(branch=tree.branch_a)
        member.set_phone("13900001111")
        member.save()
    with override_settings(FIELD_ENCRYPTION_KEYS=K2):
        report = _run()
    assert "(unreadable): 1" in report and "1 could not be decrypted" in report
    assert _raw("members_member", "phone", member.pk).startswith("v1:k1:")
