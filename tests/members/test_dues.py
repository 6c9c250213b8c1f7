"""Dues (DOMAIN §4): brackets at every edge, ledger, payments, waivers, arrears, rollup."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.core.rules import rule_set
from apps.members import services
from apps.members.models import DuesBranchMonth, DuesMonth, PendingItem, PendingKind
from apps.members.models import MemberStatus as S
from apps.members.rules import dues_monthly_amount
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.mark.parametrize(
    "base, expected",
    [
        ("3000", "15.00"),
        ("3000.00", "15.00"),
        ("3000.01", "30.00"),
        ("3200", "32.00"),
        ("5000", "50.00"),
        ("5000.01", "75.00"),
        ("5400", "81.00"),
        ("10000", "150.00"),
        ("10000.01", "200.00"),
        ("11500", "230.00"),
        ("0", "0.00"),
        ("1234.50", "6.17"),
    ],
)
def test_employed_single_bracket(base, expected):
    assert dues_monthly_amount("employed", Decimal(base)) == Decimal(expected)
    assert dues_monthly_amount("annual_salary", Decimal(base)) == Decimal(expected)


@pytest.mark.parametrize(
    "base, expected", [("5000", "25.00"), ("5000.01", "50.00"), ("3000", "15.00")]
)
def test_retired(base, expected):
    assert dues_monthly_amount("retired", Decimal(base)) == Decimal(expected)


def test_fixed_amounts_and_configurable_farmer(users):
    assert dues_monthly_amount("student", None) == Decimal("0.20")
    assert dues_monthly_amount("unemployed", None) == Decimal("0.20")
    assert dues_monthly_amount("farmer", None) == Decimal("0.20")
    rule_set(key="members.farmer_monthly_dues", value="1", actor=users.admin)
    assert dues_monthly_amount("farmer", None) == Decimal("1.00")
    with pytest.raises(ValidationError):
        rule_set(key="members.farmer_monthly_dues", value="1.01", actor=users.admin)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 7, 15, 10, 0), tick=False):
        yield


@pytest.fixture
def payer(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    services.dues_base_set(actor=None, member=m, year=2026, kind="employed", base=Decimal("5400"))
    return m


def test_base_creates_ledger_and_rollup(tree, payer):
    assert DuesMonth.objects.filter(member=payer).count() == 12
    roll = DuesBranchMonth.objects.get(branch=tree.branch_a, month=D(2026, 3, 1))
    assert (roll.members, roll.expected, roll.paid, roll.in_arrears) == (1, Decimal("81.00"), 0, 1)


def test_ledger_starts_the_month_the_meeting_passed(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.PROBATIONARY, joined_on=D(2026, 5, 20))
    services.dues_base_set(actor=None, member=m, year=2026, kind="student")
    assert DuesMonth.objects.filter(member=m).order_by("month").first().month == D(2026, 5, 1)


def test_monthly_payment_updates_rollup_in_same_transaction(tree, payer):
    services.dues_pay(actor=None, member=payer, months=[D(2026, 7, 1)], paid_on=D(2026, 7, 15))
    roll = DuesBranchMonth.objects.get(branch=tree.branch_a, month=D(2026, 7, 1))
    assert (roll.paid, roll.in_arrears) == (Decimal("81.00"), 0)
    with pytest.raises(ValidationError, match="已交"):
        services.dues_pay(actor=None, member=payer, months=[D(2026, 7, 1)], paid_on=D(2026, 7, 15))


def test_quarterly_must_be_one_quarter(payer):
    with pytest.raises(ValidationError, match="同一季度"):
        services.dues_pay(
            actor=None,
            member=payer,
            months=[D(2026, 6, 1), D(2026, 7, 1), D(2026, 8, 1)],
            paid_on=D(2026, 7, 15),
            mode="quarterly",
        )
    p = services.dues_pay(
        actor=None,
        member=payer,
        months=[D(2026, 7, 1), D(2026, 8, 1), D(2026, 9, 1)],
        paid_on=D(2026, 7, 15),
        mode="quarterly",
    )
    assert p.amount == Decimal("243.00")


def test_backpay_at_most_six_months(payer):
    services.dues_base_set(
        actor=None, member=payer, year=2025, kind="employed", base=Decimal("5400")
    )
    with pytest.raises(ValidationError, match="不超过6个月"):
        services.dues_pay(
            actor=None,
            member=payer,
            months=[D(2025, 12, 1)],
            paid_on=D(2026, 7, 15),
            mode="backpay",
        )
    p = services.dues_pay(
        actor=None,
        member=payer,
        months=[D(2026, m, 1) for m in range(1, 7)],
        paid_on=D(2026, 7, 15),
        mode="backpay",
    )
    assert p.amount == Decimal("486.00")


def test_proxy_needs_payer_and_extra_over_1000_goes_to_central(payer):
    with pytest.raises(ValidationError, match="代交人"):
        services.dues_pay(
            actor=None, member=payer, months=[D(2026, 7, 1)], paid_on=D(2026, 7, 15), mode="proxy"
        )
    p = services.dues_pay(
        actor=None,
        member=payer,
        months=[D(2026, 7, 1)],
        paid_on=D(2026, 7, 15),
        mode="proxy",
        paid_by="配偶",
        extra=Decimal("999.99"),
    )
    assert not p.to_central
    p2 = services.dues_pay(
        actor=None,
        member=payer,
        months=[D(2026, 8, 1)],
        paid_on=D(2026, 7, 15),
        extra=Decimal("1000"),
    )
    assert p2.to_central


def test_waiver_needs_approval(tree, payer, users):
    w = services.dues_waiver_request(
        actor=users.secretary,
        member=payer,
        first_month=D(2026, 8, 1),
        last_month=D(2026, 9, 1),
        monthly_amount=Decimal("0"),
        reason="重病",
    )
    assert DuesMonth.objects.get(member=payer, month=D(2026, 8, 1)).waived == 0
    services.dues_waiver_decide(actor=users.staff, waiver=w, approve=True)
    row = DuesMonth.objects.get(member=payer, month=D(2026, 8, 1))
    assert row.waived == Decimal("81.00") and row.settled
    assert DuesBranchMonth.objects.get(branch=tree.branch_a, month=D(2026, 8, 1)).expected == 0
    with pytest.raises(ValidationError, match="已审批"):
        services.dues_waiver_decide(actor=users.staff, waiver=w, approve=True)


def test_arrears_six_months_raises_pending_item_never_removes(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    services.dues_base_set(actor=None, member=m, year=2026, kind="student")
    # Jan–Jun unpaid; on 15 July that is 6 consecutive months.
    services.dues_pay(actor=None, member=m, months=[D(2026, 1, 1)], paid_on=D(2026, 7, 15))
    assert services.dues_arrears_months(member=m) == 5
    assert services.dues_arrears_sweep() == 0
    DuesMonth.objects.filter(member=m, month=D(2026, 1, 1)).update(paid=0)
    assert services.dues_arrears_months(member=m) == 6
    assert services.dues_arrears_sweep() == 1
    assert services.dues_arrears_sweep() == 0
    m.refresh_from_db()
    assert m.status == S.FULL
    assert PendingItem.objects.get(member=m).kind == PendingKind.LAPSE_REVIEW


def test_payment_undo_restores_rollup(tree, payer, users):
    p = services.dues_pay(actor=None, member=payer, months=[D(2026, 7, 1)], paid_on=D(2026, 7, 15))
    services.dues_payment_undo(actor=users.secretary, payment=p, reason="记错")
    roll = DuesBranchMonth.objects.get(branch=tree.branch_a, month=D(2026, 7, 1))
    assert (roll.paid, roll.in_arrears) == (0, 1)


def test_waiver_pages_branch_proposes_superior_decides(tree, payer, users, client_for):
    sec, staff = client_for(users.secretary), client_for(users.staff)
    url = f"/members/{payer.pk}/dues/waiver/"
    # Bad input: a clear Chinese message, nothing saved.
    r = sec.post(
        url,
        {
            "first_month": "2026-09",
            "last_month": "2026-08",
            "monthly_amount": "0",
            "reason": "重病",
        },
    )
    assert r.status_code == 400 and "截止月份不能早于起始月份" in r.content.decode()
    assert not payer.dues_waivers.exists()
    r = sec.post(
        url,
        {
            "first_month": "2026-08",
            "last_month": "2026-09",
            "monthly_amount": "0",
            "reason": "重病",
        },
    )
    assert r.status_code == 302
    w = payer.dues_waivers.get()
    # The branch sees its request but cannot approve it; the town committee can.
    page = sec.get("/members/dues/waivers/").content.decode()
    assert payer.name in page and "待审批" in page and "批准</button>" not in page
    assert (
        sec.post(f"/members/dues/waivers/{w.pk}/decide/", {"decision": "approve"}).status_code
        == 403
    )
    assert (
        client_for(users.outsider)
        .post(f"/members/dues/waivers/{w.pk}/decide/", {"decision": "approve"})
        .status_code
        == 404
    )
    assert (
        payer.name not in client_for(users.outsider).get("/members/dues/waivers/").content.decode()
    )
    assert "批准</button>" in staff.get("/members/dues/waivers/").content.decode()
    r = staff.post(f"/members/dues/waivers/{w.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "已批准" in r.content.decode()
    assert DuesMonth.objects.get(member=payer, month=D(2026, 9, 1)).waived == Decimal("81.00")
    # Deciding twice is refused with a message, not an error page.
    r = staff.post(f"/members/dues/waivers/{w.pk}/decide/", {"decision": "reject"}, follow=True)
    assert r.status_code == 200 and "已审批" in r.content.decode()
    w.refresh_from_db()
    assert w.state == "approved"


def test_waiver_api_request_and_decide(tree, payer, users, api_for):
    r = api_for(users.secretary).post(
        f"/api/v1/members/{payer.pk}/dues/waivers/",
        {
            "first_month": "2026-08-01",
            "last_month": "2026-07-01",
            "monthly_amount": "0",
            "reason": "x",
        },
        format="json",
    )
    assert r.status_code == 400 and "last_month" in r.json()
    r = api_for(users.secretary).post(
        f"/api/v1/members/{payer.pk}/dues/waivers/",
        {
            "first_month": "2026-08-01",
            "last_month": "2026-08-31",
            "monthly_amount": "10",
            "reason": "困难",
        },
        format="json",
    )
    assert r.status_code == 201 and r.json()["state"] == "requested"
    wid = r.json()["id"]
    listed = api_for(users.staff).get("/api/v1/members/dues/waivers/?state=requested").json()
    assert [row["id"] for row in listed["results"]] == [wid]
    r = api_for(users.staff).post(
        f"/api/v1/members/dues/waivers/{wid}/decide/", {"approve": True}, format="json"
    )
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert DuesMonth.objects.get(member=payer, month=D(2026, 8, 1)).waived == Decimal("71.00")


def test_unpaid_months_and_rollups_follow_a_member_who_moves(tree, payer, users):
    from apps.organizations import services as org_services

    with time_machine.travel(dt.datetime(2026, 6, 10, 10), tick=False):
        services.dues_pay(actor=None, member=payer, months=[D(2026, 5, 1)], paid_on=D(2026, 5, 20))
        # Transferred to 乙村 through an edit of the record (the page's "所在支部").
        services.member_update(actor=users.secretary, member=payer, branch=tree.branch_b)
    rows = dict(DuesMonth.objects.filter(member=payer).values_list("month", "branch_id"))
    assert rows[D(2026, 5, 1)] == tree.branch_a.pk  # paid in May at 甲村: stays there
    assert rows[D(2026, 6, 1)] == tree.branch_b.pk and rows[D(2026, 12, 1)] == tree.branch_b.pk
    june = {
        r.branch_id: r for r in DuesBranchMonth.objects.filter(month=D(2026, 6, 1), members__gt=0)
    }
    assert set(june) == {tree.branch_b.pk}
    assert june[tree.branch_b.pk].expected == Decimal("81.00")
    assert DuesBranchMonth.objects.get(branch=tree.branch_a, month=D(2026, 6, 1)).members == 0

    # A branch merged into another: its members' unpaid months and rollups go along.
    with time_machine.travel(dt.datetime(2026, 8, 3, 10), tick=False):
        org_services.org_merge(actor=None, org=tree.branch_b, into=tree.branch_c)
    assert DuesMonth.objects.get(member=payer, month=D(2026, 8, 1)).branch_id == tree.branch_c.pk
    assert DuesMonth.objects.get(member=payer, month=D(2026, 7, 1)).branch_id == tree.branch_b.pk
    aug = DuesBranchMonth.objects.get(branch=tree.branch_c, month=D(2026, 8, 1))
    assert (aug.members, aug.expected) == (1, Decimal("81.00"))
    assert DuesBranchMonth.objects.get(branch=tree.branch_b, month=D(2026, 8, 1)).members == 0
