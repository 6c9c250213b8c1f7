import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.members import services
from apps.members.models import Member, TransferState
from apps.members.models import MemberStatus as S
from apps.members.selectors import member_study_total, study_totals
from apps.organizations.models import CommitteePosition
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 7, 15, 10, 0), tick=False) as t:
        yield t


def test_internal_transfer_source_keeps_member_until_accepted(tree, users):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    t = services.member_transfer_start(
        actor=users.secretary,
        member=m,
        kind="internal",
        applied_on=D(2026, 7, 15),
        target_org=tree.town_b,
    )
    with pytest.raises(ValidationError, match="正在办理"):
        services.member_transfer_start(
            actor=None, member=m, kind="internal", applied_on=D(2026, 7, 15), target_org=tree.town_b
        )
    with pytest.raises(ValidationError, match="不能执行"):
        services.member_transfer_accept(
            actor=users.outsider, transfer=t, target_branch=tree.branch_c
        )
    services.member_transfer_approve(actor=users.staff, transfer=t)
    m.refresh_from_db()
    assert m.branch == tree.branch_a  # source keeps responsibility until accepted
    with pytest.raises(ValidationError, match="属于转入党组织"):
        services.member_transfer_accept(
            actor=users.outsider, transfer=t, target_branch=tree.branch_b
        )
    services.member_transfer_accept(actor=users.outsider, transfer=t, target_branch=tree.branch_c)
    m.refresh_from_db()
    assert m.branch == tree.branch_c
    states = list(t.events.values_list("to_state", "actor__username"))
    assert states == [("applied", "secretary"), ("approved", "staff"), ("accepted", "outsider")]


def test_transfer_expires_after_validity(tree, frozen):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    t = services.member_transfer_start(
        actor=None, member=m, kind="internal", applied_on=D(2026, 7, 15), target_org=tree.town_b
    )
    assert t.valid_until == D(2026, 8, 14)  # 30 days (rule members.transfer_valid_days)
    assert services.transfer_expire_sweep(today=D(2026, 8, 14)) == 0
    assert services.transfer_expire_sweep(today=D(2026, 8, 15)) == 1
    t.refresh_from_db()
    assert t.state == TransferState.EXPIRED


def test_letter_out_and_receipt_takes_member_off_roster(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    t = services.member_transfer_start(
        actor=None,
        member=m,
        kind="out_letter",
        applied_on=D(2026, 7, 15),
        external_org="外省某党支部",
    )
    services.member_transfer_approve(actor=None, transfer=t)
    services.member_transfer_letter_issue(
        actor=None, transfer=t, letter_number="2026-018", dues_paid_until=D(2026, 7, 1)
    )
    assert Member.objects.party_members().filter(pk=m.pk).exists()
    services.member_transfer_receipt(actor=None, transfer=t, returned_on=D(2026, 7, 15))
    assert not Member.objects.party_members().filter(pk=m.pk).exists()


def test_register_in_from_letter(tree):
    t = services.member_transfer_register_in(
        actor=None,
        branch=tree.branch_b,
        letter_number="X-1",
        external_org="外地党委",
        received_on=D(2026, 7, 1),
        name="转入者",
        gender="female",
    )
    assert t.member.branch == tree.branch_b and t.state == TransferState.ACCEPTED


def test_study_hours_32_for_members_56_for_leaders(tree, users):
    a = MemberFactory(branch=tree.branch_a, status=S.FULL)
    b = MemberFactory(branch=tree.branch_a, status=S.FULL)
    CommitteePosition.objects.create(
        org=tree.branch_a, member=b, position="secretary", started_on=D(2024, 1, 1)
    )
    for m in (a, b):
        services.study_record_add(
            actor=None, member=m, course="党课", held_on=D(2026, 3, 1), hours=Decimal("31.5")
        )
    assert not member_study_total(member=a, year=2026)["met"]
    services.study_record_add(
        actor=None, member=a, course="党课", held_on=D(2026, 3, 2), hours=Decimal("0.5")
    )
    assert member_study_total(member=a, year=2026)["met"]
    rows = {
        r["member"].pk: r
        for r in study_totals(user=users.secretary, branch=tree.branch_a, year=2026)
    }
    assert rows[b.pk]["required"] == Decimal("56") and not rows[b.pk]["met"]
    with pytest.raises(ValidationError, match="学时"):
        services.study_record_add(actor=None, member=a, course="x", held_on=D(2026, 3, 2), hours=0)


def _issued_letter(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    with time_machine.travel(dt.datetime(2026, 7, 15, 10, 0), tick=False):
        t = services.member_transfer_start(
            actor=None,
            member=m,
            kind="out_letter",
            applied_on=D(2026, 7, 15),
            external_org="外省某党支部",
        )
        services.member_transfer_approve(actor=None, transfer=t)
        t = services.member_transfer_letter_issue(
            actor=None, transfer=t, letter_number="2026-020", dues_paid_until=D(2026, 7, 1)
        )
    return m, t


def test_issued_letter_waits_a_month_for_its_receipt(tree):
    m, t = _issued_letter(tree)
    assert t.valid_until == D(2026, 8, 14)
    assert services.transfer_expire_sweep(today=D(2026, 8, 20)) == 0
    assert services.transfer_expire_sweep(today=D(2026, 9, 14)) == 0
    t.refresh_from_db()
    assert t.state == TransferState.LETTER_ISSUED
    with time_machine.travel(dt.datetime(2026, 9, 10, 10, 0), tick=False):
        services.member_transfer_receipt(actor=None, transfer=t, returned_on=D(2026, 9, 10))
    t.refresh_from_db()
    assert t.state == TransferState.RECEIPT_RETURNED
    assert not Member.objects.party_members().filter(pk=m.pk).exists()


def test_receipt_after_expiry_is_still_logged_from_the_page(tree, users, client_for):
    m, t = _issued_letter(tree)
    assert services.transfer_expire_sweep(today=D(2026, 9, 15)) == 1
    t.refresh_from_db()
    assert t.state == TransferState.EXPIRED
    with time_machine.travel(dt.datetime(2026, 9, 20, 10, 0), tick=False):
        c = client_for(users.secretary)
        assert "登记回执（逾期收到）" in c.get("/members/transfers/").content.decode()
        r = c.post(f"/members/transfers/{t.pk}/receipt/", follow=True)
    assert "已办理" in r.content.decode()
    t.refresh_from_db()
    assert t.state == TransferState.RECEIPT_RETURNED
    assert t.events.last().note == "逾期后收到回执"
    assert not Member.objects.party_members().filter(pk=m.pk).exists()
