import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.members import services
from apps.members.models import ManagementStatus, PendingItem, PendingKind
from apps.members.models import MemberStatus as S
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 15, 10, 0), tick=False):
        yield


def probationary(branch, joined=dt.date(2025, 6, 15)):
    return MemberFactory(
        branch=branch,
        status=S.PROBATIONARY,
        joined_on=joined,
        confirmed_on=None,
        probation_ends_on=dt.date(joined.year + 1, joined.month, joined.day),
        status_since=joined,
    )


def test_confirm_not_before_probation_ends_and_seniority_from_end(tree):
    m = MemberFactory(
        branch=tree.branch_a,
        status=S.PROBATIONARY,
        joined_on=dt.date(2025, 6, 16),
        confirmed_on=None,
        probation_ends_on=dt.date(2026, 6, 16),
        status_since=dt.date(2025, 6, 16),
    )
    with pytest.raises(ValidationError, match="届满"):
        services.member_confirm(actor=None, member=m, on=TODAY)
    m2 = probationary(tree.branch_a)  # ends today
    services.member_confirm(actor=None, member=m2, on=TODAY)
    m2.refresh_from_db()
    assert m2.status == S.FULL and m2.confirmed_on == dt.date(2026, 6, 15)
    assert m2.status_changes.last().from_status == S.PROBATIONARY


@pytest.mark.parametrize("months, ok", [(5, False), (6, True), (12, True), (13, False)])
def test_extension_6_to_12_months(tree, months, ok):
    m = probationary(tree.branch_a)
    if ok:
        services.member_probation_extend(
            actor=None, member=m, months=months, on=TODAY, reason="考察"
        )
        m.refresh_from_db()
        assert m.status == S.PROBATION_EXTENDED and m.probation_extended_months == months
    else:
        with pytest.raises(ValidationError, match="6–12"):
            services.member_probation_extend(
                actor=None, member=m, months=months, on=TODAY, reason="考察"
            )


def test_extension_only_once(tree):
    m = probationary(tree.branch_a)
    services.member_probation_extend(actor=None, member=m, months=6, on=TODAY, reason="考察")
    with pytest.raises(ValidationError, match="一次"):
        services.member_probation_extend(actor=None, member=m, months=6, on=TODAY, reason="再次")
    m.refresh_from_db()
    assert m.probation_ends_on == dt.date(2026, 12, 15)


def test_illegal_transitions_refused_with_message(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    with pytest.raises(ValidationError, match="当前为“正式党员”，不能办理“取消预备党员资格”"):
        services.member_probation_cancel(actor=None, member=m, on=TODAY, reason="x")
    services.member_remove(actor=None, member=m, kind="expelled", on=TODAY, reason="违纪")
    with pytest.raises(ValidationError, match="当前为“出党”，不能办理“恢复党籍”"):
        services.member_restore(actor=None, member=m, on=TODAY, reason="x")


def test_suspend_restore_and_history(tree, users):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    services.member_suspend(
        actor=users.secretary, member=m, on=TODAY, reason="失联", deciding_org=tree.town_a
    )
    services.member_restore(actor=users.secretary, member=m, on=TODAY, reason="取得联系")
    rows = list(m.status_changes.values_list("from_status", "to_status", "actor__username"))
    assert rows == [(S.FULL, S.SUSPENDED, "secretary"), (S.SUSPENDED, S.FULL, "secretary")]


def test_lost_contact_prompt_at_six_months_never_automatic(tree):
    m = MemberFactory(branch=tree.branch_a, status=S.FULL)
    services.member_lost_contact_mark(actor=None, member=m, since=dt.date(2025, 12, 16))
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0  # one day short
    type(m).objects.filter(pk=m.pk).update(lost_contact_since=dt.date(2025, 12, 15))
    assert services.lifecycle_prompts_sweep(today=TODAY) == 1
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0  # idempotent
    m.refresh_from_db()
    assert m.status == S.FULL
    assert PendingItem.objects.get().kind == PendingKind.SUSPEND_PROMPT


def test_suspended_two_years_prompt(tree):
    MemberFactory(branch=tree.branch_a, status=S.SUSPENDED, suspended_on=dt.date(2024, 6, 16))
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0
    MemberFactory(branch=tree.branch_a, status=S.SUSPENDED, suspended_on=dt.date(2024, 6, 15))
    assert services.lifecycle_prompts_sweep(today=TODAY) == 1


def test_abroad_over_five_years_prompts_suspension_and_clears_on_return(tree, users):
    m = MemberFactory(
        branch=tree.branch_a,
        status=S.FULL,
        management_status=ManagementStatus.ABROAD,
        abroad_since=dt.date(2021, 6, 15),  # exactly five years before TODAY: not yet "超过5年"
    )
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0
    type(m).objects.filter(pk=m.pk).update(abroad_since=dt.date(2021, 6, 14))
    assert services.lifecycle_prompts_sweep(today=TODAY) == 1
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0  # idempotent
    item = PendingItem.objects.get(member=m, resolved_on__isnull=True)
    assert item.kind == PendingKind.ABROAD_PROMPT
    assert "超过5年" in item.detail
    m.refresh_from_db()
    assert m.status == S.FULL  # a prompt, never automatic

    services.member_update(
        actor=users.secretary, member=m, management_status=ManagementStatus.EMPLOYED
    )
    item.refresh_from_db()
    assert item.resolved_on is not None and item.resolution == "已回国（境）"


def test_suspend_prompts_only_for_full_members(tree, users, client_for):
    """预备党员 → 停止党籍 is not a legal move, so 失联/出国 prompts go to 正式党员 only."""
    p = MemberFactory(
        branch=tree.branch_a,
        status=S.PROBATIONARY,
        joined_on=dt.date(2025, 7, 1),
        probation_ends_on=dt.date(2026, 7, 1),
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since=dt.date(2025, 10, 1),
    )
    MemberFactory(
        branch=tree.branch_a,
        status=S.PROBATIONARY,
        joined_on=dt.date(2025, 7, 1),
        management_status=ManagementStatus.ABROAD,
        abroad_since=dt.date(2020, 1, 1),
    )
    assert services.lifecycle_prompts_sweep(today=TODAY) == 0
    assert not PendingItem.objects.exists()
    html = client_for(users.secretary).get(f"/members/{p.pk}/").content.decode()
    assert "研究停止党籍" not in html
