import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditAction, AuditEntry
from apps.members import services
from apps.members.idcard import check_char, validate_id_number
from apps.members.models import Member
from apps.members.selectors import capped_count, member_search
from tests.members.helpers import id_for

pytestmark = pytest.mark.django_db


def test_check_digit_known_value():
    # The GB 11643 example number.
    assert check_char("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    "bad, msg",
    [
        ("11010519491231002", "18位"),
        ("110105194912310021", "校验位"),
        ("110105194913310020", "出生日期"),
    ],
)
def test_bad_numbers_are_refused_in_chinese(bad, msg):
    with pytest.raises(ValidationError) as exc:
        validate_id_number(bad)
    assert msg in str(exc.value)


def test_birth_date_and_gender_must_agree():
    number = id_for(dt.date(1990, 3, 7), male=False)
    with pytest.raises(ValidationError) as exc:
        validate_id_number(number, birth_date=dt.date(1990, 3, 8), gender="male")
    assert set(exc.value.error_dict) == {"birth_date", "gender"}
    assert validate_id_number(number, birth_date=dt.date(1990, 3, 7), gender="female") == number


def test_id_number_encrypted_masked_and_found_by_hash_and_suffix(tree, users):
    number = id_for(dt.date(1988, 1, 2), male=True)
    m = services.member_create(
        actor=users.secretary,
        branch=tree.branch_a,
        name="张三",
        gender="male",
        id_number=number,
        phone="13812345678",
    )
    assert m.birth_date == dt.date(1988, 1, 2)
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT id_number, phone FROM members_member WHERE id=%s", [m.pk])
        raw_id, raw_phone = c.fetchone()
    assert number not in raw_id and "13812345678" not in raw_phone
    assert m.id_number_masked == number[:6] + "********" + number[-4:]
    assert m.phone_masked == "138****5678"
    assert list(member_search(user=users.secretary, q=number)) == [m]
    assert list(member_search(user=users.secretary, q=number[-4:])) == [m]
    assert list(member_search(user=users.outsider, q=number)) == []
    with pytest.raises(ValidationError, match="已登记"):
        services.member_create(
            actor=users.secretary,
            branch=tree.branch_b,
            name="李四",
            gender="male",
            id_number=number,
        )


def test_reveal_needs_capability_and_reason_and_is_audited(tree, users):
    number = id_for(dt.date(1988, 1, 2))
    m = services.member_create(
        actor=None, branch=tree.branch_a, name="张三", gender="male", id_number=number
    )
    with pytest.raises(PermissionDenied):
        services.member_reveal(actor=users.committee, member=m, field="id_number", reason="核对")
    with pytest.raises(ValidationError):
        services.member_reveal(actor=users.secretary, member=m, field="id_number", reason="")
    assert (
        services.member_reveal(
            actor=users.secretary, member=m, field="id_number", reason="核对身份"
        )
        == number
    )
    entry = AuditEntry.objects.get(action=AuditAction.REVEAL)
    assert entry.reason == "核对身份" and number not in str(entry.changes)


def test_name_prefix_search_and_capped_count(tree, users):
    for i in range(5):
        services.member_create(actor=None, branch=tree.branch_a, name=f"王{i}", gender="male")
    services.member_create(actor=None, branch=tree.branch_c, name="王外", gender="male")
    qs = member_search(user=users.secretary, q="王")
    assert {m.name for m in qs} == {f"王{i}" for i in range(5)}
    assert capped_count(qs, cap=3) == (3, True)
    assert capped_count(qs, cap=10) == (5, False)


def test_photo_type_and_size_checked(tree):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("a.png", b"not a png", content_type="image/png")
    with pytest.raises(ValidationError, match="格式不符"):
        services.member_create(
            actor=None, branch=tree.branch_a, name="甲", gender="male", photo=fake
        )
    big = SimpleUploadedFile(
        "a.jpg", b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), content_type="image/jpeg"
    )
    with pytest.raises(ValidationError, match="2MB"):
        services.member_create(
            actor=None, branch=tree.branch_a, name="甲", gender="male", photo=big
        )
    assert not Member.objects.filter(name="甲").exists()


def test_member_only_in_a_branch(tree):
    with pytest.raises(ValidationError, match="党支部"):
        services.member_create(actor=None, branch=tree.town_a, name="甲", gender="male")
