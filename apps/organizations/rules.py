"""Organization rules (DOMAIN.md §1): which node types may sit under which, term lengths,
and the thresholds behind the warnings. Local practice is registered as editable rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from apps.core.rules import register, rule_value
from apps.organizations.models import BRANCH_TYPES, OrgCategory, OrgType

# Fixed by the regulations: a 党小组 only under a branch kind; nothing under a 党小组.
# The rest is configurable (rule organizations.allowed_parents).
DEFAULT_ALLOWED_PARENTS: dict[str, list[str]] = {
    OrgType.LOCAL_COMMITTEE: ["", OrgType.LOCAL_COMMITTEE],
    OrgType.PRIMARY_COMMITTEE: [
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
    ],
    OrgType.WORK_COMMITTEE: [OrgType.LOCAL_COMMITTEE, OrgType.PRIMARY_COMMITTEE],
    OrgType.GENERAL_BRANCH: [
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
    ],
    OrgType.BRANCH: [
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
        OrgType.GENERAL_BRANCH,
    ],
    OrgType.JOINT_BRANCH: [
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
        OrgType.GENERAL_BRANCH,
    ],
    OrgType.TEMP_BRANCH: [
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
        OrgType.GENERAL_BRANCH,
    ],
    OrgType.PARTY_GROUP: sorted(BRANCH_TYPES),
}

register(
    "organizations.allowed_parents",
    {k.value: [str(v) for v in vs] for k, vs in DEFAULT_ALLOWED_PARENTS.items()},
    "上级组织类型规则",
    '每种组织类型允许的上级组织类型（"" 表示可作为根节点）。'
    "党小组只能设在支部下、党小组下不设组织，此两条固定。",
    kind=dict,
)

for _category in OrgCategory:
    register(
        f"organizations.term_years.{_category.value}",
        5,
        f"任期年限（{_category.label}）",
        "新建届次的默认任期（年）。按2022年党章口径默认5年；已有届次保留自己的年限。",
        min_value=1,
        max_value=10,
    )


def allowed_parent_types(child_type: str) -> list[str]:
    configured = rule_value("organizations.allowed_parents") or {}
    allowed = list(configured.get(child_type, DEFAULT_ALLOWED_PARENTS.get(child_type, [])))
    if child_type == OrgType.PARTY_GROUP:
        allowed = [t for t in allowed if t in BRANCH_TYPES] or sorted(BRANCH_TYPES)
    else:
        allowed = [t for t in allowed if t != OrgType.PARTY_GROUP]
    return allowed


def check_parent_allowed(*, parent_type: str | None, child_type: str) -> None:
    allowed = allowed_parent_types(child_type)
    key = parent_type or ""
    if parent_type == OrgType.PARTY_GROUP:
        raise ValidationError({"parent": ["党小组下不能再设立下级组织。"]})
    if key not in allowed:
        child_label = OrgType(child_type).label
        if parent_type is None:
            raise ValidationError({"parent": [f"{child_label}必须设在上级党组织之下。"]})
        raise ValidationError(
            {"parent": [f"{child_label}不能设在{OrgType(parent_type).label}之下。"]}
        )


def default_term_years(category: str) -> int:
    return int(rule_value(f"organizations.term_years.{category}"))


# --- term display state (DOMAIN §1.3) ----------------------------------------------------

DUE_SOON_MONTHS = 6  # 上级一般提前6个月提醒 (✅)
MAX_EXTENSION_YEARS = 1  # 提前或延长一般不超过1年 (✅)


@dataclass(frozen=True)
class TermStatus:
    code: str  # a TermState value, or "due_soon" / "overdue"
    label: str
    tone: str  # green / yellow / red / secondary (CSS badge-*)
    overdue: bool = False
    due_soon: bool = False


def term_deadline(term) -> dt.date:
    """The day the term must be renewed by: its end, or the approved extension."""
    return term.extension_until or term.ends_on


def term_status(term, today: dt.date) -> TermStatus:
    """The state a person sees: the stored workflow state plus the time-derived states
    即将到期 (from T-6 months, while nothing has been started) and 逾期未换届 (after the end
    or the approved extension, until the new result is approved)."""
    from apps.core.periods import add_months
    from apps.organizations.models import TermState

    if term is None:
        return TermStatus("none", "未录入届次", "secondary")
    state = TermState(term.state)
    if state in (TermState.CLOSED, TermState.RESULT_APPROVED):
        return TermStatus(state.value, state.label, "secondary")
    overdue = today > term_deadline(term)
    if state in (TermState.ACTIVE, TermState.EXTENSION_APPROVED):
        if overdue:
            return TermStatus("overdue", "逾期未换届", "red", overdue=True)
        if state == TermState.ACTIVE and today >= add_months(term.ends_on, -DUE_SOON_MONTHS):
            return TermStatus("due_soon", "即将到期", "yellow", due_soon=True)
        return TermStatus(
            state.value, state.label, "yellow" if state == TermState.EXTENSION_APPROVED else "green"
        )
    # a renewal is under way
    if overdue and state != TermState.ELECTION_HELD:
        return TermStatus(state.value, f"{state.label}（已逾期）", "red", overdue=True)
    return TermStatus(state.value, state.label, "yellow")


# --- which orgs fit as a move / merge target (for pickers; the services re-check) ---------


def move_target_fits(org, target) -> bool:
    return target.org_type != OrgType.PARTY_GROUP and target.org_type in allowed_parent_types(
        org.org_type
    )


def merge_target_fits(org, target) -> bool:
    if org.org_type == OrgType.PARTY_GROUP:
        return target.org_type == OrgType.PARTY_GROUP or target.org_type in BRANCH_TYPES
    if org.org_type in BRANCH_TYPES:
        return target.org_type in BRANCH_TYPES
    return target.org_type not in BRANCH_TYPES and target.org_type != OrgType.PARTY_GROUP
