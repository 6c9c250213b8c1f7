"""Development rules (DOMAIN §3.2) at their boundaries: the day before / on each limit."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.core.rules import rule_set
from apps.members import services
from apps.members.models import DevelopmentStep, Member, Step
from apps.members.models import MemberStatus as S
from apps.members.selectors import development_due
from tests.factories import MemberFactory
from tests.members.helpers import full_members

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2030, 1, 1, 10, 0), tick=False):
        yield


def apply(branch, applied=D(2026, 1, 5), born=D(2000, 1, 1)):  # noqa: B008 (dates are immutable)
    return services.development_apply(
        actor=None, branch=branch, name="申请人", gender="male", applied_on=applied, birth_date=born
    )


def rec(member, step, on, **kw):
    return services.development_step_record(actor=None, member=member, step=step, done_on=on, **kw)


PUB = {"publicity_from": D(2026, 4, 6), "publicity_to": D(2026, 4, 10)}  # Mon–Fri, 5 working days


def test_age_18_at_application(tree):
    with pytest.raises(ValidationError, match="18周岁"):
        apply(tree.branch_a, applied=D(2018, 1, 1), born=D(2000, 1, 2))
    m = apply(tree.branch_a, applied=D(2018, 1, 1), born=D(2000, 1, 1))
    assert m.status == S.APPLICANT and m.steps.get().step == Step.APPLICATION


def test_talk_within_one_month(tree):
    m = apply(tree.branch_a, applied=D(2026, 1, 5))
    with pytest.raises(ValidationError, match="1个月内"):
        rec(m, Step.TALK, D(2026, 2, 6))
    rec(m, Step.TALK, D(2026, 2, 5))


def test_step_order_enforced(tree):
    m = apply(tree.branch_a)
    with pytest.raises(ValidationError, match="请先完成第2步"):
        rec(m, Step.ACTIVIST_CHOSEN, D(2026, 4, 13), **PUB)


def test_publicity_working_days_rule_is_configurable(tree, users):
    m = apply(tree.branch_a)
    rec(m, Step.TALK, D(2026, 1, 20))
    short = {"publicity_from": D(2026, 4, 7), "publicity_to": D(2026, 4, 13)}  # Tue..Mon = 5 days
    rec_ok = dict(short)
    rule_set(key="members.publicity_working_days", value=6, actor=users.admin)
    with pytest.raises(ValidationError, match="5个工作日，不少于6个工作日"):
        rec(m, Step.ACTIVIST_CHOSEN, D(2026, 4, 14), **short)
    rule_set(key="members.publicity_working_days", value=5, actor=users.admin)
    rec(m, Step.ACTIVIST_CHOSEN, D(2026, 4, 14), **rec_ok)
    m.refresh_from_db()
    assert m.status == S.ACTIVIST


def test_application_to_activist_minimum_months(tree):
    m = apply(tree.branch_a, applied=D(2026, 1, 5))
    rec(m, Step.TALK, D(2026, 1, 20))
    pub = {"publicity_from": D(2025, 12, 29), "publicity_to": D(2026, 1, 2)}
    with pytest.raises(ValidationError, match="3个月后"):
        rec(
            m,
            Step.ACTIVIST_CHOSEN,
            D(2026, 4, 4),
            publicity_from=D(2026, 3, 23),
            publicity_to=D(2026, 3, 27),
        )
    del pub
    rec(
        m,
        Step.ACTIVIST_CHOSEN,
        D(2026, 4, 5),
        publicity_from=D(2026, 3, 23),
        publicity_to=D(2026, 3, 27),
    )


def activist(branch):
    m = apply(branch)
    rec(m, Step.TALK, D(2026, 1, 20))
    rec(m, Step.ACTIVIST_CHOSEN, D(2026, 4, 13), **PUB)
    rec(m, Step.ACTIVIST_FILED, D(2026, 4, 20))
    return m


def test_mentors_one_or_two_full_members(tree):
    m = activist(tree.branch_a)
    a, b, c = full_members(tree.branch_a, 3)
    prob = MemberFactory(branch=tree.branch_a, status=S.PROBATIONARY)
    with pytest.raises(ValidationError, match="1–2名"):
        rec(m, Step.MENTORS, D(2026, 4, 21), people=[a, b, c])
    with pytest.raises(ValidationError, match="不是正式党员"):
        rec(m, Step.MENTORS, D(2026, 4, 21), people=[prob])
    rec(m, Step.MENTORS, D(2026, 4, 21), people=[a])


def test_one_year_as_activist_before_candidate(tree):
    m = activist(tree.branch_a)
    rec(m, Step.MENTORS, D(2026, 4, 21), people=full_members(tree.branch_a, 1))
    rec(m, Step.ACTIVIST_REVIEW, D(2026, 10, 1))
    rec(m, Step.ACTIVIST_REVIEW, D(2027, 4, 1))
    pub = {"publicity_from": D(2027, 4, 5), "publicity_to": D(2027, 4, 9)}
    with pytest.raises(ValidationError, match="一年以上"):
        rec(m, Step.CANDIDATE_CHOSEN, D(2027, 4, 12), **pub)
    rec(m, Step.CANDIDATE_CHOSEN, D(2027, 4, 13), **pub)
    m.refresh_from_db()
    assert m.status == S.CANDIDATE


def candidate(branch):
    m = activist(branch)
    rec(m, Step.MENTORS, D(2026, 4, 21), people=full_members(branch, 2))
    rec(m, Step.ACTIVIST_REVIEW, D(2026, 10, 1))
    rec(
        m,
        Step.CANDIDATE_CHOSEN,
        D(2027, 4, 13),
        publicity_from=D(2027, 4, 5),
        publicity_to=D(2027, 4, 9),
    )
    rec(m, Step.CANDIDATE_FILED, D(2027, 4, 20))
    return m


def test_sponsors_exactly_two(tree):
    m = candidate(tree.branch_a)
    with pytest.raises(ValidationError, match="2名"):
        rec(m, Step.SPONSORS, D(2027, 4, 21), people=full_members(tree.branch_a, 1))
    rec(m, Step.SPONSORS, D(2027, 4, 21), people=full_members(tree.branch_a, 2))


@pytest.mark.parametrize(
    "days, hours, ok",
    [
        ("2.5", "23.5", False),
        ("3", None, True),
        (None, "24", True),
        ("2", "20", False),
    ],
)
def test_training_three_days_or_24_hours(tree, days, hours, ok):
    m = candidate(tree.branch_a)
    rec(m, Step.SPONSORS, D(2027, 4, 21), people=full_members(tree.branch_a, 2))
    rec(m, Step.POLITICAL_REVIEW, D(2027, 5, 1))
    kw = {"training_days": days, "training_hours": hours}
    if ok:
        rec(m, Step.TRAINING, D(2027, 5, 10), **kw)
    else:
        with pytest.raises(ValidationError, match="3天或24学时"):
            rec(m, Step.TRAINING, D(2027, 5, 10), **kw)


MEETING_PUB = {"publicity_from": D(2027, 6, 7), "publicity_to": D(2027, 6, 11)}
VOTES = {"expected_voting": 10, "attended_voting": 6, "votes_for": 6}


def ready_for_meeting(branch, review=D(2027, 5, 1)):  # noqa: B008 (dates are immutable)
    m = candidate(branch)
    rec(m, Step.SPONSORS, D(2027, 4, 21), people=full_members(branch, 2))
    rec(m, Step.POLITICAL_REVIEW, review)
    rec(m, Step.TRAINING, D(2027, 5, 10), training_days="3")
    rec(m, Step.COMMITTEE_REVIEW, D(2027, 5, 20))
    rec(m, Step.PRE_REVIEW, D(2027, 5, 25))
    rec(m, Step.ADMISSION_FORM, D(2027, 6, 1))
    return m


@pytest.mark.parametrize(
    "attended, yes, msg",
    [
        (5, 5, "未超过应到会有表决权党员（10人）的半数"),
        (8, 5, "赞成票（5票）未超过"),
    ],
)
def test_admission_vote_rules(tree, attended, yes, msg):
    m = ready_for_meeting(tree.branch_a)
    with pytest.raises(ValidationError, match=msg):
        rec(
            m,
            Step.ADMISSION_MEETING,
            D(2027, 6, 14),
            expected_voting=10,
            attended_voting=attended,
            votes_for=yes,
            **MEETING_PUB,
        )


def test_political_review_validity_one_year(tree):
    m = ready_for_meeting(tree.branch_a)
    m.steps.filter(step=Step.POLITICAL_REVIEW).update(done_on=D(2026, 6, 13))
    with pytest.raises(ValidationError, match="有效期"):
        rec(m, Step.ADMISSION_MEETING, D(2027, 6, 14), **VOTES, **MEETING_PUB)
    m.steps.filter(step=Step.POLITICAL_REVIEW).update(done_on=D(2026, 6, 14))
    rec(m, Step.ADMISSION_MEETING, D(2027, 6, 14), **VOTES, **MEETING_PUB)


def test_leaving_within_three_months_blocks_admission(tree):
    m = ready_for_meeting(tree.branch_a)
    Member.objects.filter(pk=m.pk).update(leaving_unit_on=D(2027, 9, 14))
    with pytest.raises(ValidationError, match="3个月内将离开"):
        rec(m, Step.ADMISSION_MEETING, D(2027, 6, 14), **VOTES, **MEETING_PUB)
    Member.objects.filter(pk=m.pk).update(leaving_unit_on=D(2027, 9, 15))
    rec(m, Step.ADMISSION_MEETING, D(2027, 6, 14), **VOTES, **MEETING_PUB)


def admitted_meeting(branch):
    m = ready_for_meeting(branch)
    rec(m, Step.ADMISSION_MEETING, D(2027, 6, 14), **VOTES, **MEETING_PUB)
    rec(m, Step.ADMISSION_TALK, D(2027, 6, 20))
    return m


def test_approval_within_three_months_then_six_with_reason(tree):
    m = admitted_meeting(tree.branch_a)
    with pytest.raises(ValidationError, match="须填写原因"):
        rec(m, Step.ADMISSION_APPROVAL, D(2027, 9, 15))
    with pytest.raises(ValidationError, match="6个月的最长期限"):
        rec(m, Step.ADMISSION_APPROVAL, D(2027, 12, 15), late_reason="材料补正")
    rec(m, Step.ADMISSION_APPROVAL, D(2027, 12, 14), late_reason="材料补正")
    m.refresh_from_db()
    # Probation: one year from the 支部大会, not from the approval.
    assert (m.status, m.joined_on, m.probation_ends_on) == (
        S.PROBATIONARY,
        D(2027, 6, 14),
        D(2028, 6, 14),
    )


def test_approval_on_the_three_month_day(tree):
    m = admitted_meeting(tree.branch_a)
    rec(m, Step.ADMISSION_APPROVAL, D(2027, 9, 14))


def probation(branch):
    m = admitted_meeting(branch)
    rec(m, Step.ADMISSION_APPROVAL, D(2027, 7, 1))
    for step, on in (
        (18, D(2027, 7, 2)),
        (19, D(2027, 7, 2)),
        (20, D(2027, 7, 3)),
        (21, D(2028, 1, 3)),
        (22, D(2028, 5, 20)),
    ):
        rec(m, step, on)
    return m


CONF_PUB = {"publicity_from": D(2028, 6, 5), "publicity_to": D(2028, 6, 9)}


def test_confirmation_not_before_probation_ends_and_party_age(tree):
    m = probation(tree.branch_a)
    with pytest.raises(ValidationError, match="期满后方可讨论转正"):
        rec(m, Step.CONFIRMATION_MEETING, D(2028, 6, 13), **VOTES, **CONF_PUB)
    rec(m, Step.CONFIRMATION_MEETING, D(2028, 6, 14), **VOTES, **CONF_PUB)
    rec(m, Step.CONFIRMATION_APPROVAL, D(2028, 7, 10))
    m.refresh_from_db()
    assert m.status == S.FULL and m.confirmed_on == D(2028, 6, 14)
    rec(m, Step.ARCHIVED, D(2028, 7, 20))
    assert DevelopmentStep.objects.filter(member=m).values("step").distinct().count() == 25


def test_confirmation_extension_then_second_discussion(tree):
    m = probation(tree.branch_a)
    rec(
        m,
        Step.CONFIRMATION_MEETING,
        D(2028, 6, 14),
        decision="extend",
        extension_months=6,
        note="需继续考察",
        **VOTES,
    )
    rec(m, Step.CONFIRMATION_APPROVAL, D(2028, 7, 1))
    m.refresh_from_db()
    assert m.status == S.PROBATION_EXTENDED and m.probation_ends_on == D(2028, 12, 14)
    rec(m, Step.CONFIRMATION_REQUEST, D(2028, 11, 20))
    with pytest.raises(ValidationError, match="期满后"):
        rec(
            m,
            Step.CONFIRMATION_MEETING,
            D(2028, 12, 13),
            **VOTES,
            publicity_from=D(2028, 12, 4),
            publicity_to=D(2028, 12, 8),
        )
    rec(
        m,
        Step.CONFIRMATION_MEETING,
        D(2028, 12, 14),
        **VOTES,
        publicity_from=D(2028, 12, 4),
        publicity_to=D(2028, 12, 8),
    )
    rec(m, Step.CONFIRMATION_APPROVAL, D(2029, 1, 5))
    m.refresh_from_db()
    assert m.status == S.FULL and m.confirmed_on == D(2028, 12, 14)


def test_due_list(tree, users):
    with time_machine.travel(dt.datetime(2026, 2, 6, 10), tick=False):
        late = apply(tree.branch_a, applied=D(2026, 1, 5))
        fresh = apply(tree.branch_a, applied=D(2026, 2, 1))
        outside = apply(tree.branch_c, applied=D(2026, 1, 5))
        due = development_due(user=users.secretary)
        talks = {i.member.pk: i.overdue for i in due if i.kind == "talk"}
        assert talks == {late.pk: True, fresh.pk: False}
        assert outside.pk not in talks
        county = development_due(user=users.admin, org=tree.county)
        assert {i.member.pk for i in county if i.kind == "talk"} == {late.pk, fresh.pk, outside.pk}


def test_due_list_probation_over_without_confirmation_meeting(tree, users):
    from apps.members.models import Transfer, TransferKind, TransferState

    with time_machine.travel(dt.datetime(2026, 9, 10, 10), tick=False):
        here = MemberFactory(
            branch=tree.branch_a, status=S.PROBATIONARY, probation_ends_on=D(2026, 7, 31)
        )
        moved_in = MemberFactory(
            branch=tree.branch_a, status=S.PROBATIONARY, probation_ends_on=D(2026, 7, 31)
        )
        Transfer.objects.create(
            member=moved_in,
            kind=TransferKind.IN_LETTER,
            state=TransferState.ACCEPTED,
            target_branch=tree.branch_a,
            target_org=tree.branch_a,
            applied_on=D(2026, 5, 1),
            valid_until=D(2026, 6, 1),
            external_org="外县某党支部",
        )
        discussed = MemberFactory(
            branch=tree.branch_a, status=S.PROBATIONARY, probation_ends_on=D(2026, 7, 31)
        )
        DevelopmentStep.objects.create(
            member=discussed, step=Step.CONFIRMATION_MEETING, done_on=D(2026, 8, 3)
        )
        late = {
            i.member.pk: i
            for i in development_due(user=users.secretary)
            if i.kind == "confirmation_late"
        }
        assert set(late) == {here.pk, moved_in.pk}
        assert late[here.pk].overdue and late[here.pk].due_on == D(2026, 7, 31)
        # A probationer who transferred in may be discussed up to 6 months after expiry.
        assert not late[moved_in.pk].overdue and late[moved_in.pk].due_on == D(2027, 1, 31)
        assert "推迟讨论转正" in late[moved_in.pk].label


def test_due_list_contact_every_half_year_for_members_abroad_or_away(tree, users):
    from apps.members.models import ManagementStatus, MobileContact

    with time_machine.travel(dt.datetime(2026, 9, 10, 10), tick=False):
        abroad = MemberFactory(
            branch=tree.branch_a,
            status=S.FULL,
            management_status=ManagementStatus.ABROAD,
            abroad_since=D(2026, 1, 20),
        )
        away = MemberFactory(
            branch=tree.branch_a, status=S.FULL, management_status=ManagementStatus.MOBILE_OUT
        )
        MobileContact.objects.create(member=away, contacted_on=D(2026, 9, 1), way="电话")
        never = MemberFactory(
            branch=tree.branch_a, status=S.FULL, management_status=ManagementStatus.MOBILE_OUT
        )
        due = {
            i.member.pk: i for i in development_due(user=users.secretary) if i.kind == "contact_due"
        }
        assert set(due) == {abroad.pk, never.pk}  # contacted last week: not due
        assert due[abroad.pk].overdue and due[abroad.pk].due_on == D(2026, 7, 20)
        assert not due[never.pk].overdue and due[never.pk].label == "尚无联系记录"
        MobileContact.objects.create(member=abroad, contacted_on=D(2026, 9, 9), way="微信")
        assert abroad.pk not in {
            i.member.pk for i in development_due(user=users.secretary) if i.kind == "contact_due"
        }


def test_due_list_activist_review_every_half_year(tree, users):
    """培养教育考察 at least every `members.activist_review_months` (⚠️, default 6): listed from a
    month before it falls due, overdue after, cleared by a review (step 6)."""
    m = MemberFactory(branch=tree.branch_a, status=S.ACTIVIST)
    DevelopmentStep.objects.create(member=m, step=Step.ACTIVIST_CHOSEN, done_on=D(2026, 3, 1))

    def review_items(day):
        with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10), tick=False):
            return [
                (i.overdue, i.due_on)
                for i in development_due(user=users.secretary)
                if i.kind == "activist_review" and i.member.pk == m.pk
            ]

    assert review_items(D(2026, 8, 1)) == []  # due 2026-09-01: 31 days ahead
    assert review_items(D(2026, 8, 2)) == [(False, D(2026, 9, 1))]
    assert review_items(D(2026, 9, 2)) == [(True, D(2026, 9, 1))]
    DevelopmentStep.objects.create(member=m, step=Step.ACTIVIST_REVIEW, done_on=D(2026, 9, 5))
    assert review_items(D(2026, 9, 6)) == []  # next one due 2027-03-05
    rule_set(key="members.activist_review_months", value="3", actor=users.admin)
    assert review_items(D(2026, 11, 6)) == [(False, D(2026, 12, 5))]
