"""Meeting rules (DOMAIN.md §1.4, §2): quorum and vote outcomes, appraisal grade limits,
requirement evaluation. Pure functions; frequency requirements themselves are data
(`MeetingRequirement`, defaults in migration 0002). Local practice is registered here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from django.core.exceptions import ValidationError

from apps.core.periods import Period, PeriodKind
from apps.core.rules import register, rule_value

register(
    "meetings.late_entry_days",
    15,
    "会议补录时限（天）",
    "会议结束后超过此天数才首次录入记录的，标记为“会后长时间补录”。",
    min_value=1,
    max_value=365,
)
register(
    "meetings.committee_threshold",
    7,
    "设支委会的正式党员人数",
    "正式党员达到此人数的支部按设有支部委员会计算（支委会月度要求）；可在支部会议设置中单独指定。",
    min_value=1,
    max_value=50,
)
register(
    "meetings.due_soon_days",
    7,
    "即将到期提醒（天）",
    "期间结束前此天数内尚未完成的要求显示为黄色“即将到期”。",
    min_value=0,
    max_value=90,
)
register(
    "meetings.exempt_partial_periods",
    True,
    "成立或撤销当期免于考核",
    "在某一期间内成立或撤销的支部，该期间不计入考核。",
    kind=bool,
)
register(
    "meetings.similarity_threshold",
    80,
    "记录雷同阈值（%）",
    "两次会议记录的字符3-gram相似度（MinHash估计）达到此值即标记为雷同。",
    min_value=50,
    max_value=100,
)
register(
    "meetings.election_margin_percent",
    20,
    "差额选举候选人多于应选人数的比例（%）",
    "党员大会选举委员时，候选人数应多于应选人数的此比例（向上取整，且至少多1名）。",
    min_value=1,
    max_value=100,
)
register(
    "meetings.excellent_share_max",
    "1/3",
    "优秀等次比例上限",
    "民主评议“优秀”一般不超过参评党员的三分之一。",
    kind=str,
)


# --- votes and elections ---------------------------------------------------------------


@dataclass(frozen=True)
class VoteOutcome:
    quorum_met: bool
    passed: bool
    message: str


def resolution_outcome(*, expected_voting: int, present_voting: int, yes: int) -> VoteOutcome:
    """支部党员大会表决 (支部条例第十一条): more than half of the voting members must be present;
    passed when yes votes exceed half of the voting members EXPECTED (not present)."""
    quorum = 2 * present_voting > expected_voting
    if not quorum:
        return VoteOutcome(
            False,
            False,
            f"有表决权党员到会{present_voting}人，未超过应到会{expected_voting}人的半数，不能表决",
        )
    passed = 2 * yes > expected_voting
    if passed:
        return VoteOutcome(
            True, True, f"赞成{yes}票，超过应到会有表决权党员{expected_voting}人的半数，通过"
        )
    return VoteOutcome(
        True, False, f"赞成{yes}票，未超过应到会有表决权党员{expected_voting}人的半数，未通过"
    )


def election_outcome(*, expected_voting: int, present_voting: int, yes: int) -> VoteOutcome:
    """选举 (选举工作条例 2020): valid when voters present exceed 4/5 of those expected; a
    candidate is elected with yes votes exceeding half of the voters PRESENT."""
    valid = 5 * present_voting > 4 * expected_voting
    if not valid:
        return VoteOutcome(
            False,
            False,
            f"有选举权党员到会{present_voting}人，未超过应到会{expected_voting}人的4/5，选举无效",
        )
    elected = 2 * yes > present_voting
    if elected:
        return VoteOutcome(
            True, True, f"赞成{yes}票，超过实到会有选举权党员{present_voting}人的半数，当选"
        )
    return VoteOutcome(
        True, False, f"赞成{yes}票，未超过实到会有选举权党员{present_voting}人的半数，未当选"
    )


@dataclass(frozen=True)
class CandidateResult:
    title: str
    yes: int
    quorum_met: bool
    elected: bool
    runoff: bool  # tied at the cut-off: not elected, a further round is needed
    message: str


def election_margin_percent() -> int:
    return int(rule_value("meetings.election_margin_percent"))


def check_candidate_margin(*, candidates: int, seats: int, contest: str = "") -> None:
    """差额选举: more candidates than seats, by at least the margin rule (20 % by default;
    DOMAIN §1.4): candidates ≥ seats × (1 + margin), rounded up, and always > seats."""
    where = f"“{contest}”" if contest else ""
    if seats < 1:
        raise ValidationError({"votes": [f"选举{where}请填写应选人数（至少1名）。"]})
    margin = election_margin_percent()
    needed = max(seats + 1, -(-seats * (100 + margin) // 100))
    if candidates < needed:
        raise ValidationError(
            {
                "votes": [
                    f"选举{where}应选{seats}名，实行差额选举须有候选人至少{needed}名"
                    f"（多于应选人数{margin}%以上），现有{candidates}名。"
                ]
            }
        )


def election_results(
    *, expected_voting: int, present_voting: int, seats: int, candidates: list[tuple[str, int]]
) -> list[CandidateResult]:
    """One contest (选举工作条例 2020, DOMAIN §1.4): valid when voters present exceed 4/5 of those
    expected; a candidate needs yes votes exceeding half of the voters PRESENT; when more
    candidates than seats pass that bar, the seats go to the highest votes, and candidates tied
    at the cut-off are not elected but need a further round (票数相同再投)."""
    valid = 5 * present_voting > 4 * expected_voting
    if not valid:
        msg = f"有选举权党员到会{present_voting}人，未超过应到会{expected_voting}人的4/5，选举无效"
        return [CandidateResult(t, y, False, False, False, msg) for t, y in candidates]
    majority = [y for _t, y in candidates if 2 * y > present_voting]
    majority.sort(reverse=True)
    if len(majority) <= seats:
        cut, tied_value = None, None
    else:
        cut = majority[seats - 1]
        tied_value = cut if majority[seats] == cut else None
    out = []
    for title, yes in candidates:
        if 2 * yes <= present_voting:
            out.append(
                CandidateResult(
                    title,
                    yes,
                    True,
                    False,
                    False,
                    f"赞成{yes}票，未超过实到会有选举权党员{present_voting}人的半数，未当选",
                )
            )
        elif cut is None or yes > cut or (yes == cut and tied_value is None):
            out.append(
                CandidateResult(
                    title,
                    yes,
                    True,
                    True,
                    False,
                    f"赞成{yes}票，超过实到会有选举权党员{present_voting}人的半数，当选",
                )
            )
        elif tied_value is not None and yes == tied_value:
            out.append(
                CandidateResult(
                    title,
                    yes,
                    True,
                    False,
                    True,
                    f"赞成{yes}票过半数，但与其他候选人票数相同、超出应选名额，需再次投票",
                )
            )
        else:
            out.append(
                CandidateResult(
                    title,
                    yes,
                    True,
                    False,
                    False,
                    f"赞成{yes}票过半数，但票数未进入应选{seats}名之内，未当选",
                )
            )
    return out


def check_committee_quorum(*, committee: int, present: int) -> None:
    """支部委员会会议须半数以上委员到会方可进行（《支部条例》第十二条）: strictly more than half."""
    if committee <= 0 or 2 * present <= committee:
        raise ValidationError(
            {
                "attendance": [
                    f"支部委员会会议须半数以上委员到会：委员{committee}人，到会{present}人。"
                ]
            }
        )


def check_talk_participants(*, participants: int) -> None:
    """谈心谈话: two or more people."""
    if participants < 2:
        raise ValidationError({"attendance": ["谈心谈话须有两人及以上参加，请登记谈话双方。"]})


def check_ballot_counts(*, yes: int, no: int, abstain: int, present_voting: int) -> None:
    if min(yes, no, abstain) < 0:
        raise ValidationError({"votes": ["票数不能为负数。"]})
    if yes + no + abstain > present_voting:
        raise ValidationError(
            {
                "votes": [
                    f"赞成、反对、弃权合计{yes + no + abstain}票，超过实到会有表决权党员{present_voting}人。"
                ]
            }
        )


# --- 民主评议 ---------------------------------------------------------------------------


def excellent_share_max() -> Fraction:
    try:
        return Fraction(str(rule_value("meetings.excellent_share_max")))
    except (ValueError, ZeroDivisionError):
        return Fraction(1, 3)


def check_appraisal_grades(grades: list[str], *, excellent: str = "excellent") -> None:
    """优秀 at most 1/3 (by default) of those graded (预备党员 are not graded)."""
    graded = [g for g in grades if g]
    top = sum(1 for g in graded if g == excellent)
    limit = excellent_share_max()
    if graded and Fraction(top, len(graded)) > limit:
        raise ValidationError(
            {
                "appraisals": [
                    f"评定为优秀的{top}人，超过参评党员{len(graded)}人的{limit.numerator}/{limit.denominator}。"
                ]
            }
        )


# --- requirement evaluation -------------------------------------------------------------

MET, PENDING, DUE_SOON, OVERDUE, EXEMPT = "met", "pending", "due_soon", "overdue", "exempt"
STATUS_LABELS = {
    MET: "已完成",
    PENDING: "进行中",
    DUE_SOON: "即将到期",
    OVERDUE: "逾期未开展",
    EXEMPT: "免于考核",
}
STATE_GREEN, STATE_YELLOW, STATE_RED = "green", "yellow", "red"
STATE_LABELS = {STATE_GREEN: "正常", STATE_YELLOW: "临期", STATE_RED: "逾期"}


def sub_periods(kind: str, window: Period) -> list[Period]:
    """The periods of `kind` (month/quarter/year) the window is judged on: finer ones inside
    it, or the one coarser period containing it."""
    kind = PeriodKind(kind)
    order = [PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR]
    if order.index(kind) >= order.index(PeriodKind(window.kind)):
        return [Period.containing(kind, window.start)]
    if kind is PeriodKind.MONTH:
        return window.months()
    return window.quarters()


def period_status(
    *, count: int, min_count: int, period: Period, today: dt.date, due_soon_days: int, exempt: bool
) -> str:
    if count >= min_count:
        return MET
    if exempt:
        return EXEMPT
    if period.end < today:
        return OVERDUE
    if period.start > today:
        return PENDING
    if period.days_left(today) < due_soon_days:
        return DUE_SOON
    return PENDING


def combine(statuses: list[str]) -> str:
    for status in (OVERDUE, DUE_SOON, PENDING):
        if status in statuses:
            return status
    if statuses and all(s == EXEMPT for s in statuses):
        return EXEMPT
    return MET


def state_of(statuses: list[str]) -> str:
    if OVERDUE in statuses:
        return STATE_RED
    if DUE_SOON in statuses:
        return STATE_YELLOW
    return STATE_GREEN


def is_ok(status: str) -> bool:
    """Counts as compliant: met, exempt, or not yet due."""
    return status in (MET, EXEMPT, PENDING)


def partial_period_exempt(
    *,
    founded_on: dt.date | None,
    abolished_on: dt.date | None,
    period: Period,
    enabled: bool | None = None,
) -> bool:
    if enabled is None:
        enabled = bool(rule_value("meetings.exempt_partial_periods"))
    if not enabled:
        return False
    if founded_on and period.start < founded_on <= period.end:
        return True
    return bool(abolished_on and period.start <= abolished_on <= period.end)
