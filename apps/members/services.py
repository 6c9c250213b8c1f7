"""Writes for member records, lifecycle, development, dues, transfers and study hours.

Every service is keyword-only, runs in one transaction and writes its audit entry there.
Authorization (scope, capability) is the caller's job (views / API); the services enforce the
regulation rules of DOMAIN.md §3–5 and raise ValidationError with a Chinese message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, Sum

from apps.core.audit import audit_log, diff, snapshot
from apps.core.errors import RuleViolation, check_lengths
from apps.core.models import AuditAction
from apps.core.periods import Period, add_months, add_years, local_today, years_between
from apps.core.rules import rule_value
from apps.members import rules
from apps.members.idcard import validate_id_number
from apps.members.models import (
    OPEN_TRANSFER_STATES,
    PROBATIONARY_STATUSES,
    REPEATABLE_STEPS,
    ConfirmationDecision,
    DevelopmentStep,
    DuesBase,
    DuesBranchMonth,
    DuesMonth,
    DuesPayment,
    DuesWaiver,
    ManagementStatus,
    Member,
    MemberStatus,
    MemberStatusChange,
    MobileContact,
    PaymentMode,
    PendingItem,
    PendingKind,
    RemovalKind,
    Step,
    StudyRecord,
    Transfer,
    TransferEvent,
    TransferKind,
    TransferState,
    WaiverState,
)
from apps.organizations.models import BRANCH_TYPES, Org, OrgType

S = MemberStatus

# DOMAIN §3.3: the only allowed moves. Anything else is refused with a message.
TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({S.APPLICANT, S.PROBATIONARY, S.PROBATION_EXTENDED, S.FULL}),  # new record
    S.APPLICANT: frozenset({S.ACTIVIST}),
    S.ACTIVIST: frozenset({S.CANDIDATE}),
    S.CANDIDATE: frozenset({S.PROBATIONARY}),
    S.PROBATIONARY: frozenset({S.FULL, S.PROBATION_EXTENDED, S.PROBATION_CANCELLED, S.DECEASED}),
    S.PROBATION_EXTENDED: frozenset({S.FULL, S.PROBATION_CANCELLED, S.DECEASED}),
    S.FULL: frozenset({S.SUSPENDED, S.REMOVED, S.DECEASED}),
    S.SUSPENDED: frozenset({S.FULL, S.REMOVED, S.DECEASED}),
    S.PROBATION_CANCELLED: frozenset(),
    S.REMOVED: frozenset(),
    S.DECEASED: frozenset(),
}

# The status each lifecycle action starts from. TRANSITIONS alone is not enough: 转正 and 恢复党籍
# both end in 正式党员, so each service also checks that it is its own starting status
# (恢复党籍 only from 停止党籍, 转正 only from 预备党员).
LIFECYCLE_FROM: dict[str, frozenset[str]] = {
    "confirm": PROBATIONARY_STATUSES,
    "extend": frozenset({S.PROBATIONARY}),
    "cancel": PROBATIONARY_STATUSES,
    "suspend": frozenset({S.FULL}),
    "restore": frozenset({S.SUSPENDED}),
    "remove": frozenset({S.FULL, S.SUSPENDED}),
    "decease": frozenset(s for s, moves in TRANSITIONS.items() if s and S.DECEASED in moves),
    "lost_contact": frozenset({S.FULL, *PROBATIONARY_STATUSES}),
}
LIFECYCLE_LABELS = {
    "confirm": "转正",
    "extend": "延长预备期",
    "cancel": "取消预备党员资格",
    "suspend": "停止党籍",
    "restore": "恢复党籍",
    "remove": "出党",
    "decease": "去世",
    "lost_contact": "登记失联",
}


# Decisions a superior committee takes (上级党委审批/批准); the rest are the branch's own.
APPROVAL_ACTIONS = frozenset({"confirm", "extend", "cancel", "suspend", "restore", "remove"})
APPROVAL_STEPS = frozenset(
    {
        Step.ACTIVIST_FILED,
        Step.CANDIDATE_FILED,
        Step.PRE_REVIEW,
        Step.ADMISSION_TALK,
        Step.ADMISSION_APPROVAL,
        Step.ADMISSION_FILED,
        Step.CONFIRMATION_APPROVAL,
    }
)
DECIDING_COMMITTEE_TYPES = frozenset(
    {OrgType.PRIMARY_COMMITTEE, OrgType.WORK_COMMITTEE, OrgType.LOCAL_COMMITTEE}
)


def deciding_org_choices(member: Member) -> list[Org]:
    """The orgs that may decide about `member`: the branch and its superiors, nearest first.
    (The member itself was found through the scope door; so are these, by its path.)"""
    paths = [member.branch.path, *reversed(member.branch.ancestor_paths())]
    orgs = {o.path: o for o in Org.objects.filter(path__in=paths)}
    return [orgs[p] for p in paths if p in orgs]


def deciding_org_default(member: Member, *, approval: bool) -> Org:
    """基层党委 (the nearest committee with the power to approve) for approvals, else the branch."""
    if approval:
        for org in deciding_org_choices(member)[1:]:
            if org.org_type in DECIDING_COMMITTEE_TYPES:
                return org
    return member.branch


def deciding_org_resolve(member: Member, org_id, *, approval: bool) -> Org:
    """An id given in a form or API body → the deciding org; only the branch or a superior."""
    if org_id in (None, ""):
        return deciding_org_default(member, approval=approval)
    for org in deciding_org_choices(member):
        if str(org.pk) == str(org_id):
            return org
    raise ValidationError({"deciding_org": ["决定组织须为该党员所在党支部或其上级党组织。"]})


def _check_deciding_org(member: Member, org: Org | None, *, approval: bool) -> Org:
    if org is None:
        return deciding_org_default(member, approval=approval)
    return deciding_org_resolve(member, org.pk, approval=approval)


def lifecycle_allowed(member: Member) -> list[str]:
    """The lifecycle actions `member`'s current status allows (pages show only these)."""
    return [a for a, starts in LIFECYCLE_FROM.items() if member.status in starts]


def lifecycle_refusal(member: Member, action: str) -> str:
    """Why `member`'s current status does not allow `action`; "" when it does."""
    if member.status in LIFECYCLE_FROM[action]:
        return ""
    starts = "、".join(S(s).label for s in S if s in LIFECYCLE_FROM[action])
    return (
        f"该党员当前为“{S(member.status).label}”，不能办理“{LIFECYCLE_LABELS[action]}”"
        f"（只有{starts}可以办理）。"
    )


def _require_from(member: Member, action: str) -> None:
    refusal = lifecycle_refusal(member, action)
    if refusal:
        raise RuleViolation(refusal)


RECORD_FIELDS = [
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "education",
    "occupation",
    "work_unit",
    "post",
    "branch",
    "party_group",
    "management_status",
    "mobile_out_to",
    "mobile_in_from",
    "lost_contact_since",
    "abroad_since",
    "is_center_household",
    "leaving_unit_on",
    "joined_on",
    "confirmed_on",
]
PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_TYPES = {".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG"}


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


# ============================================================================================
# Records
# ============================================================================================
def _check_placement(branch: Org, party_group: Org | None) -> None:
    if branch.org_type not in BRANCH_TYPES:
        raise ValidationError({"branch": ["党员只能编入党支部（含联合、临时党支部）。"]})
    if branch.abolished_on is not None:
        raise ValidationError({"branch": ["该党支部已撤销。"]})
    if party_group is not None and (
        party_group.org_type != OrgType.PARTY_GROUP or party_group.parent_id != branch.pk
    ):
        raise ValidationError({"party_group": ["党小组必须属于所在党支部。"]})


def _check_photo(photo) -> None:
    if not photo:
        return
    name = (getattr(photo, "name", "") or "").lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if ext not in PHOTO_TYPES:
        raise ValidationError({"photo": ["照片只支持 JPG 或 PNG 格式。"]})
    if photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": ["照片不能超过 2MB。"]})
    head = photo.read(8)
    photo.seek(0)
    if not head.startswith(PHOTO_TYPES[ext]):
        raise ValidationError({"photo": ["照片文件内容与格式不符。"]})


def _apply_identity(member: Member, id_number: str | None, phone: str | None) -> None:
    if id_number is not None:
        if id_number.strip():
            number = validate_id_number(
                id_number, birth_date=member.birth_date, gender=member.gender
            )
            if member.birth_date is None:
                from apps.members.idcard import birth_date_of

                member.birth_date = birth_date_of(number)
            clash = Member.objects.filter(id_number_hash=_hash("id_number", number)).exclude(
                pk=member.pk
            )
            if clash.exists():
                raise ValidationError({"id_number": ["该公民身份号码已登记在其他党员名下。"]})
            member.set_id_number(number)
        else:
            member.set_id_number("")
    if phone is not None:
        phone = phone.strip().replace(" ", "").replace("-", "")
        if phone and not (phone.isdigit() and 7 <= len(phone) <= 13):
            raise ValidationError({"phone": ["联系电话格式不正确。"]})
        member.set_phone(phone)


STATUS_DATES = {
    ManagementStatus.ABROAD: ("abroad_since", "管理状态为“出国（境）”时，请填写出国（境）日期。"),
    ManagementStatus.LOST_CONTACT: (
        "lost_contact_since",
        "管理状态为“失联”时，请填写失联起始日期。",
    ),
}


def _check_status_dates(member: Member, fields) -> None:
    """出国（境）and 失联 need their start date: the 5-year and 6-month prompts count from it."""
    for status, (field, message) in STATUS_DATES.items():
        if "management_status" not in fields and field not in fields:
            continue
        day = getattr(member, field)
        if member.management_status == status and day is None:
            raise ValidationError({field: [message]})
        if day is not None and day > local_today():
            raise ValidationError({field: ["日期不能晚于今天。"]})


def _hash(purpose: str, value: str) -> str:
    from apps.core.crypto import blind_index

    return blind_index(purpose, value)


@transaction.atomic
def member_create(
    *,
    actor,
    branch: Org,
    name: str,
    gender: str,
    status: str = S.FULL,
    id_number: str = "",
    phone: str = "",
    party_group: Org | None = None,
    changed_on: dt.date | None = None,
    reason: str = "建立党员档案",
    photo=None,
    **fields,
) -> Member:
    """A new record (roster entry). For an applicant use `development_apply`."""
    _check_placement(branch, party_group)
    if status not in TRANSITIONS[""]:
        raise ValidationError({"status": ["新建档案只能是入党申请人、预备党员或正式党员。"]})
    if status in PROBATIONARY_STATUSES and not fields.get("joined_on"):
        # Without it there is no probation end: 转正 could never be checked.
        raise ValidationError({"joined_on": ["预备党员须填写入党日期（支部大会通过之日）。"]})
    member = Member(
        branch=branch,
        party_group=party_group,
        name=(name or "").strip(),
        gender=gender,
        status=status,
        **fields,
    )
    _check_photo(photo)
    if photo:
        member.photo = photo
    _check_status_dates(member, fields)
    _apply_identity(member, id_number, phone)
    if status in PROBATIONARY_STATUSES and member.joined_on and not member.probation_ends_on:
        member.probation_ends_on = add_years(member.joined_on, rules.PROBATION_YEARS)
    member.status_since = changed_on or member.confirmed_on or member.joined_on or local_today()
    member.full_clean(exclude=["id_number", "phone", "user"])
    member.save()
    MemberStatusChange.objects.create(
        member=member,
        from_status="",
        to_status=status,
        changed_on=member.status_since,
        action="member_create",
        reason=reason,
        deciding_org=branch,
        actor=_user(actor),
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="member_create",
        changes={"name": [None, member.name], "status": [None, status]},
    )
    return member


@transaction.atomic
def member_update(
    *,
    actor,
    member: Member,
    id_number: str | None = None,
    phone: str | None = None,
    photo=None,
    **fields,
) -> Member:
    """Edit record fields. Status is changed only by the lifecycle services below."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    from_branch_id = member.branch_id
    unknown = set(fields) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationError({"__all__": [f"不能在此修改：{', '.join(sorted(unknown))}"]})
    before = snapshot(member, [*fields, "id_number_masked", "phone_masked"])
    for key, value in fields.items():
        setattr(member, key, value)
    if "branch" in fields or "party_group" in fields:
        _check_placement(member.branch, member.party_group)
    _check_status_dates(member, fields)
    if photo is not None:
        _check_photo(photo)
        member.photo = photo
    if id_number is None and ("birth_date" in fields or "gender" in fields) and member.id_number:
        validate_id_number(member.id_number, birth_date=member.birth_date, gender=member.gender)
    _apply_identity(member, id_number, phone)
    member.full_clean(exclude=["id_number", "phone", "user"])
    member.save()
    # A member back in contact or back home no longer needs the suspension prompt.
    today = local_today()
    _follow_member_move(
        [member.pk], from_branch_id=from_branch_id, to_branch_id=member.branch_id, on=today
    )
    if member.management_status != ManagementStatus.LOST_CONTACT:
        _resolve_pending(member, PendingKind.SUSPEND_PROMPT, today, "已恢复联系")
    if member.management_status != ManagementStatus.ABROAD:
        _resolve_pending(member, PendingKind.ABROAD_PROMPT, today, "已回国（境）")
    _reminders_follow(member)
    after = snapshot(member, [*fields, "id_number_masked", "phone_masked"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        verb="member_update",
        changes=diff(before, after),
    )
    return member


def _reminders_follow(member: Member) -> None:
    """Withdraw, in this transaction, the member's reminders the write made moot (contact
    restored, a talk or an approval recorded, a probation end corrected)."""
    from apps.notifications.rules import reminders_member_changed

    reminders_member_changed(member=member)


@transaction.atomic
def member_photo_remove(*, actor, member: Member) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.photo:
        return member
    old = member.photo.name
    member.photo = ""
    member.save(update_fields=["photo", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        verb="member_photo_remove",
        changes={"photo": [old, None]},
    )
    return member


def member_reveal(*, actor, member: Member, field: str, reason: str) -> str:
    """The full 身份证号 or phone through the shared reveal service (apps.core.reveal): needs the
    `reveal` capability over the member's branch and a reason; audited."""
    from apps.core.reveal import personal_data_reveal

    if field not in ("id_number", "phone"):
        raise ValidationError({"field": ["只能查看公民身份号码或联系电话。"]})
    return personal_data_reveal(actor=actor, obj=member, field=field, reason=reason)


# ============================================================================================
# Lifecycle (DOMAIN §3.3)
# ============================================================================================
def _transition(
    *,
    actor,
    member: Member,
    to: str,
    on: dt.date,
    action: str,
    reason: str = "",
    deciding_org: Org | None = None,
    approval: bool = True,
    **fields,
) -> Member:
    current = member.status
    deciding_org = _check_deciding_org(member, deciding_org, approval=approval)
    if to not in TRANSITIONS.get(current, frozenset()):
        raise RuleViolation(f"不能从“{S(current).label}”变更为“{S(to).label}”。")
    if on > local_today():
        raise ValidationError({"changed_on": ["日期不能晚于今天。"]})
    if member.status_since and on < member.status_since:
        raise ValidationError(
            {"changed_on": [f"日期不能早于当前状态的起始日期（{member.status_since:%Y-%m-%d}）。"]}
        )
    member.status = to
    member.status_since = on
    for key, value in fields.items():
        setattr(member, key, value)
    member.save()
    MemberStatusChange.objects.create(
        member=member,
        from_status=current,
        to_status=to,
        changed_on=on,
        action=action,
        reason=reason,
        deciding_org=deciding_org,
        actor=_user(actor),
    )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        verb=action,
        changes={"status": [current, to], **{k: [None, v] for k, v in fields.items()}},
        reason=reason,
    )
    # Pending reminders the new status makes moot (转正 → probation ending ...), same transaction.
    from apps.notifications.rules import reminders_member_status_changed

    reminders_member_status_changed(member=member)
    return member


def _locked(member: Member) -> Member:
    return Member.objects.select_for_update().select_related("branch").get(pk=member.pk)


@transaction.atomic
def member_confirm(
    *, actor, member: Member, on: dt.date, reason: str = "", deciding_org: Org | None = None
) -> Member:
    """转正. 转正日期 (and 党龄) is the day the probation ends, whatever day the approval is."""
    member = _locked(member)
    _require_from(member, "confirm")
    ends = member.probation_ends_on or (
        add_years(member.joined_on, rules.PROBATION_YEARS) if member.joined_on else None
    )
    if ends is None:
        raise RuleViolation("未登记入党日期，无法确定预备期满日期：请先在档案中补充入党日期。")
    if on < ends:
        raise RuleViolation(f"预备期至{ends:%Y年%m月%d日}届满，期满前不能转正。")
    return _transition(
        actor=actor,
        member=member,
        to=S.FULL,
        on=on,
        action="member_confirm",
        reason=reason,
        deciding_org=deciding_org,
        confirmed_on=ends,
    )


@transaction.atomic
def member_probation_extend(
    *, actor, member: Member, months: int, on: dt.date, reason: str, deciding_org: Org | None = None
) -> Member:
    """延长预备期: only once, at least 6 and at most 12 months (《细则》第三十二条)."""
    member = _locked(member)
    if member.probation_extended_months or member.status == S.PROBATION_EXTENDED:
        raise RuleViolation("预备期只能延长一次，该党员已延长过预备期。")
    _require_from(member, "extend")
    if not rules.EXTENSION_MIN_MONTHS <= int(months) <= rules.EXTENSION_MAX_MONTHS:
        raise ValidationError({"months": ["延长预备期不能少于6个月、不能超过1年（6–12个月）。"]})
    if not reason:
        raise ValidationError({"reason": ["请填写延长预备期的原因。"]})
    ends = member.probation_ends_on or add_years(member.joined_on or on, rules.PROBATION_YEARS)
    return _transition(
        actor=actor,
        member=member,
        to=S.PROBATION_EXTENDED,
        on=on,
        action="member_probation_extend",
        reason=reason,
        deciding_org=deciding_org,
        probation_extended_months=int(months),
        probation_ends_on=add_months(ends, int(months)),
    )


@transaction.atomic
def member_probation_cancel(
    *, actor, member: Member, on: dt.date, reason: str, deciding_org: Org | None = None
) -> Member:
    member = _locked(member)
    _require_from(member, "cancel")
    if not reason:
        raise ValidationError({"reason": ["请填写取消预备党员资格的原因。"]})
    return _transition(
        actor=actor,
        member=member,
        to=S.PROBATION_CANCELLED,
        on=on,
        action="member_probation_cancel",
        reason=reason,
        deciding_org=deciding_org,
    )


@transaction.atomic
def member_suspend(
    *, actor, member: Member, on: dt.date, reason: str, deciding_org: Org | None = None
) -> Member:
    """停止党籍 (e.g. 失联满6个月 and not found). Always a decision by people, never automatic."""
    member = _locked(member)
    _require_from(member, "suspend")
    if not reason:
        raise ValidationError({"reason": ["请填写停止党籍的原因和依据。"]})
    member = _transition(
        actor=actor,
        member=member,
        to=S.SUSPENDED,
        on=on,
        action="member_suspend",
        reason=reason,
        deciding_org=deciding_org,
        suspended_on=on,
    )
    for pending_kind in (PendingKind.SUSPEND_PROMPT, PendingKind.ABROAD_PROMPT):
        _resolve_pending(member, pending_kind, on, "已停止党籍")
    return member


@transaction.atomic
def member_restore(
    *, actor, member: Member, on: dt.date, reason: str, deciding_org: Org | None = None
) -> Member:
    """恢复党籍."""
    member = _locked(member)
    _require_from(member, "restore")
    if not reason:
        raise ValidationError({"reason": ["请填写恢复党籍的依据。"]})
    fields = {"suspended_on": None}
    if member.management_status == ManagementStatus.LOST_CONTACT:
        fields.update(management_status=ManagementStatus.EMPLOYED, lost_contact_since=None)
    member = _transition(
        actor=actor,
        member=member,
        to=S.FULL,
        on=on,
        action="member_restore",
        reason=reason,
        deciding_org=deciding_org,
        **fields,
    )
    _resolve_pending(member, PendingKind.REMOVE_PROMPT, on, "已恢复党籍")
    return member


@transaction.atomic
def member_remove(
    *, actor, member: Member, kind: str, on: dt.date, reason: str, deciding_org: Org | None = None
) -> Member:
    """出党: 退党除名, 劝退/除名, 自行脱党除名, 开除党籍."""
    member = _locked(member)
    _require_from(member, "remove")
    if kind not in RemovalKind.values:
        raise ValidationError({"kind": ["请选择出党方式。"]})
    if not reason:
        raise ValidationError({"reason": ["请填写出党的原因和决定依据。"]})
    member = _transition(
        actor=actor,
        member=member,
        to=S.REMOVED,
        on=on,
        action="member_remove",
        reason=f"{RemovalKind(kind).label}：{reason}",
        deciding_org=deciding_org,
        removal_kind=kind,
    )
    for pending_kind in (PendingKind.LAPSE_REVIEW, PendingKind.REMOVE_PROMPT):
        _resolve_pending(member, pending_kind, on, RemovalKind(kind).label)
    return member


@transaction.atomic
def member_decease(
    *, actor, member: Member, on: dt.date, reason: str = "", deciding_org: Org | None = None
) -> Member:
    member = _locked(member)
    _require_from(member, "decease")
    return _transition(
        actor=actor,
        member=member,
        to=S.DECEASED,
        on=on,
        action="member_decease",
        reason=reason or "去世",
        deciding_org=deciding_org,
        approval=False,
    )


@transaction.atomic
def member_lost_contact_mark(*, actor, member: Member, since: dt.date, note: str = "") -> Member:
    """Record 失联 from `since` (a management status). The 6-month prompt comes from the sweeper."""
    _require_from(member, "lost_contact")
    if since > local_today():
        raise ValidationError({"since": ["失联起始日期不能晚于今天。"]})
    return member_update(
        actor=actor,
        member=member,
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since=since,
    )


def _resolve_pending(member: Member, kind: str, on: dt.date, resolution: str) -> None:
    PendingItem.objects.filter(member=member, kind=kind, resolved_on__isnull=True).update(
        resolved_on=on, resolution=resolution
    )


@transaction.atomic
def pending_resolve(
    *, actor, item: PendingItem, resolution: str, on: dt.date | None = None
) -> PendingItem:
    if not resolution:
        raise ValidationError({"resolution": ["请填写处理结果。"]})
    item.resolved_on = on or local_today()
    item.resolution = resolution
    item.save(update_fields=["resolved_on", "resolution", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=item.member,
        verb="pending_resolve",
        changes={"pending": [item.kind, resolution]},
    )
    return item


def _raise_pending(member: Member, kind: str, on: dt.date, detail: str) -> bool:
    if PendingItem.objects.filter(member=member, kind=kind, resolved_on__isnull=True).exists():
        return False
    PendingItem.objects.create(
        member=member, branch_id=member.branch_id, kind=kind, raised_on=on, detail=detail
    )
    return True


@transaction.atomic
def lifecycle_prompts_sweep(*, today: dt.date | None = None) -> int:
    """失联≥6个月 → prompt to suspend; 出国（境）超过5年未返回 → prompt to suspend; 停止党籍满2年
    → prompt to remove. Prompts only: the decision is a person's lifecycle service call."""
    today = today or local_today()
    raised = 0
    # 停止党籍 is open to 正式党员 only (a 预备党员 is not suspended), so only they get the prompts.
    lost = Member.objects.filter(
        status=S.FULL,
        management_status=ManagementStatus.LOST_CONTACT,
        lost_contact_since__lte=add_months(today, -rules.LOST_CONTACT_MONTHS),
    )
    for m in lost:
        raised += _raise_pending(
            m,
            PendingKind.SUSPEND_PROMPT,
            today,
            f"自{m.lost_contact_since:%Y年%m月%d日}起失去联系已满6个月，请研究是否停止党籍。",
        )
    abroad = Member.objects.filter(
        status=S.FULL,
        management_status=ManagementStatus.ABROAD,
        abroad_since__lt=add_years(today, -rules.ABROAD_YEARS),
    )
    for m in abroad:
        raised += _raise_pending(
            m,
            PendingKind.ABROAD_PROMPT,
            today,
            f"自{m.abroad_since:%Y年%m月%d日}出国（境）已超过5年未返回，请研究是否停止党籍。",
        )
    stale = Member.objects.filter(
        status=S.SUSPENDED, suspended_on__lte=add_years(today, -rules.SUSPENDED_YEARS)
    )
    for m in stale:
        raised += _raise_pending(
            m,
            PendingKind.REMOVE_PROMPT,
            today,
            f"自{m.suspended_on:%Y年%m月%d日}停止党籍已满2年，仍无法取得联系的，按自行脱党予以除名。",
        )
    return raised


# ============================================================================================
# Development pipeline (DOMAIN §3.1–3.2)
# ============================================================================================
def _steps_of(member: Member) -> dict[int, DevelopmentStep]:
    latest: dict[int, DevelopmentStep] = {}
    for row in member.steps.order_by("step", "done_on", "id"):
        latest[row.step] = row  # the latest of a repeated step
    return latest


def _publicity_problems(facts: dict, done_on: dt.date, what: str) -> list[str]:
    need = rules.publicity_working_days()
    start, end = facts.get("publicity_from"), facts.get("publicity_to")
    if not start or not end:
        return [f"{what}前须公示，不少于{need}个工作日：请填写公示起止日期。"]
    if end < start:
        return ["公示结束日期不能早于开始日期。"]
    if end > done_on:
        return [f"公示须在{what}之前结束。"]
    days = sum(
        1 for i in range((end - start).days + 1) if (start + dt.timedelta(days=i)).weekday() < 5
    )
    if days < need:
        return [f"公示期只有{days}个工作日，不少于{need}个工作日。"]
    return []


def _vote_problems(facts: dict) -> list[str]:
    expected, attended, yes = (
        facts.get("expected_voting"),
        facts.get("attended_voting"),
        facts.get("votes_for"),
    )
    if expected is None or attended is None or yes is None:
        return ["请填写应到会、实到会有表决权的正式党员人数和赞成票数。"]
    if attended > expected or yes > attended:
        return ["人数不合理：实到会不能多于应到会，赞成票不能多于实到会人数。"]
    problems = []
    if not attended * 2 > expected:
        problems.append(
            f"有表决权的到会党员（{attended}人）未超过应到会有表决权党员（{expected}人）的半数，不能表决。"
        )
    if not yes * 2 > expected:
        problems.append(
            f"赞成票（{yes}票）未超过应到会有表决权正式党员（{expected}人）的半数，决议未通过。"
        )
    return problems


def _people_problems(
    member: Member, people: list[Member], low: int, high: int, label: str
) -> list[str]:
    problems = []
    if not low <= len(people) <= high:
        count = f"{low}名" if low == high else f"{low}–{high}名"
        problems.append(f"{label}应为{count}正式党员。")
    for p in people:
        if p.pk == member.pk:
            problems.append(f"{label}不能是本人。")
        elif p.status != S.FULL:
            problems.append(f"{p.name}不是正式党员，不能担任{label}。")
    return problems


def _within(
    base: dt.date, done_on: dt.date, months: int, max_months: int, late_reason: str, what: str
) -> list[str]:
    limit, hard = add_months(base, months), add_months(base, max_months)
    if done_on <= limit:
        return []
    if done_on > hard:
        return [f"{what}已超过{max_months}个月的最长期限（应不晚于{hard:%Y年%m月%d日}）。"]
    if not late_reason:
        return [
            f"{what}应在{months}个月内（不晚于{limit:%Y年%m月%d日}）；特殊情况延长的须填写原因，最长不超过{max_months}个月。"
        ]
    return []


def development_problems(
    *,
    member: Member,
    step: int,
    done_on: dt.date,
    facts: dict | None = None,
    people: Iterable[Member] = (),
) -> list[str]:
    """Every rule of DOMAIN §3.2 that guards `step`, as messages (empty = may be recorded)."""
    facts = facts or {}
    people = list(people)
    steps = _steps_of(member) if member.pk else {}
    problems: list[str] = []
    step = Step(int(step))
    if done_on > local_today():
        problems.append("日期不能晚于今天。")
    if step > 1 and step not in REPEAT_OK_AFTER and step - 1 not in steps:
        problems.append(f"请先完成第{step - 1}步“{Step(step - 1).label}”。")
    if step in steps and step not in REPEATABLE_STEPS:
        allowed = 1
        if step in AFTER_EXTENSION_STEPS and member.probation_extended_months:
            allowed = 2  # a second confirmation discussion after the one extension
        if member.steps.filter(step=step).count() >= allowed:
            problems.append(f"第{step}步“{step.label}”已记录。")
    previous = [s for n, s in steps.items() if n < step]
    if previous and done_on < max(s.done_on for s in previous):
        problems.append("日期不能早于上一步骤的日期。")

    def on(n: int) -> dt.date | None:
        row = steps.get(n)
        return row.done_on if row else None

    if step == Step.APPLICATION:
        if member.birth_date is None:
            problems.append("请填写出生日期（或公民身份号码）。")
        elif years_between(member.birth_date, done_on) < rules.MIN_APPLICANT_AGE:
            problems.append(
                f"申请入党须年满18周岁（{add_years(member.birth_date, 18):%Y年%m月%d日}满18周岁）。"
            )
    elif step == Step.TALK and on(1):
        limit = add_months(on(1), rules.TALK_WITHIN_MONTHS)
        if done_on > limit:
            problems.append(f"收到入党申请书后应在1个月内派人谈话（不晚于{limit:%Y年%m月%d日}）。")
    elif step == Step.ACTIVIST_CHOSEN:
        min_months = int(rule_value("members.min_months_application_to_activist"))
        if on(1) and done_on < add_months(on(1), min_months):
            problems.append(
                f"递交入党申请书{min_months}个月后方可确定为入党积极分子（不早于{add_months(on(1), min_months):%Y年%m月%d日}）。"
            )
        problems += _publicity_problems(facts, done_on, "确定入党积极分子")
    elif step == Step.MENTORS:
        problems += _people_problems(
            member, people, rules.MENTORS_MIN, rules.MENTORS_MAX, "培养联系人"
        )
    elif step == Step.CANDIDATE_CHOSEN and on(3):
        earliest = add_years(on(3), rules.ACTIVIST_MIN_YEARS)
        if done_on < earliest:
            problems.append(
                f"入党积极分子须经一年以上培养考察，{earliest:%Y年%m月%d日}起方可确定为发展对象。"
            )
        problems += _publicity_problems(facts, done_on, "确定发展对象")
    elif step == Step.SPONSORS:
        problems += _people_problems(member, people, rules.SPONSORS, rules.SPONSORS, "入党介绍人")
    elif step == Step.TRAINING:
        days, hours = facts.get("training_days"), facts.get("training_hours")
        if not (
            (days is not None and Decimal(days) >= rules.TRAINING_MIN_DAYS)
            or (hours is not None and Decimal(hours) >= rules.TRAINING_MIN_HOURS)
        ):
            problems.append("集中培训时间一般不少于3天或24学时。")
    elif step == Step.ADMISSION_MEETING:
        review = on(Step.POLITICAL_REVIEW)
        valid = int(rule_value("members.political_review_valid_months"))
        if review is None:
            problems.append("未经政治审查不能发展。")
        elif done_on > add_months(review, valid):
            problems.append(
                f"政审材料已超过{valid}个月有效期（{add_months(review, valid):%Y年%m月%d日}到期），须重新政审。"
            )
        if member.leaving_unit_on and member.leaving_unit_on <= add_months(
            done_on, rules.LEAVING_WITHIN_MONTHS
        ):
            problems.append("发展对象3个月内将离开工作、学习单位的，一般不办理接收预备党员的手续。")
        problems += _publicity_problems(facts, done_on, "接收预备党员")
        problems += _vote_problems(facts)
    elif step == Step.ADMISSION_APPROVAL and on(Step.ADMISSION_MEETING):
        problems += _within(
            on(Step.ADMISSION_MEETING),
            done_on,
            rules.APPROVAL_MONTHS,
            rules.APPROVAL_MAX_MONTHS,
            facts.get("late_reason", ""),
            "上级党委审批",
        )
    elif step == Step.CONFIRMATION_MEETING:
        decision = facts.get("decision") or ConfirmationDecision.CONFIRM
        if (
            member.probation_ends_on
            and done_on < member.probation_ends_on
            and decision == ConfirmationDecision.CONFIRM
        ):
            problems.append(
                f"预备期至{member.probation_ends_on:%Y年%m月%d日}届满，期满后方可讨论转正。"
            )
        if decision == ConfirmationDecision.CONFIRM:
            problems += _publicity_problems(facts, done_on, "预备党员转正")
        if decision == ConfirmationDecision.EXTEND:
            if member.probation_extended_months:
                problems.append("预备期只能延长一次，该党员已延长过预备期。")
            months = facts.get("extension_months")
            if (
                not months
                or not rules.EXTENSION_MIN_MONTHS <= int(months) <= rules.EXTENSION_MAX_MONTHS
            ):
                problems.append("延长预备期不能少于6个月、不能超过1年（6–12个月）。")
        problems += _vote_problems(facts)
    elif step == Step.CONFIRMATION_APPROVAL and on(Step.CONFIRMATION_MEETING):
        problems += _within(
            on(Step.CONFIRMATION_MEETING),
            done_on,
            rules.APPROVAL_MONTHS,
            rules.APPROVAL_MAX_MONTHS,
            facts.get("late_reason", ""),
            "上级党委审批",
        )
    return problems


# Steps that may follow a repeatable step or an extension without the strict n-1 order.
REPEAT_OK_AFTER = frozenset({Step.APPLICATION})
AFTER_EXTENSION_STEPS = frozenset(
    {Step.CONFIRMATION_REQUEST, Step.CONFIRMATION_MEETING, Step.CONFIRMATION_APPROVAL}
)
STEP_FACTS = (
    "note",
    "late_reason",
    "publicity_from",
    "publicity_to",
    "training_days",
    "training_hours",
    "expected_voting",
    "attended_voting",
    "votes_for",
    "decision",
    "extension_months",
)


@transaction.atomic
def development_apply(
    *,
    actor,
    branch: Org,
    name: str,
    gender: str,
    applied_on: dt.date,
    birth_date: dt.date | None = None,
    id_number: str = "",
    phone: str = "",
    **fields,
) -> Member:
    """Step 1: 递交入党申请书 — creates the applicant's record."""
    probe = Member(branch=branch, name=name, gender=gender, birth_date=birth_date)
    if id_number:
        _apply_identity(probe, id_number, None)
    problems = development_problems(member=probe, step=Step.APPLICATION, done_on=applied_on)
    if problems:
        raise RuleViolation(problems)
    member = member_create(
        actor=actor,
        branch=branch,
        name=name,
        gender=gender,
        birth_date=probe.birth_date,
        status=S.APPLICANT,
        id_number=id_number,
        phone=phone,
        changed_on=applied_on,
        reason="递交入党申请书",
        **fields,
    )
    DevelopmentStep.objects.create(
        member=member, step=Step.APPLICATION, done_on=applied_on, actor=_user(actor)
    )
    return member


@transaction.atomic
def development_step_record(
    *,
    actor,
    member: Member,
    step: int,
    done_on: dt.date,
    people: Iterable[Member] = (),
    deciding_org: Org | None = None,
    **facts,
) -> DevelopmentStep:
    """Record one of steps 2–25. A broken rule blocks the step with its reason (RuleViolation)."""
    member = _locked(member)
    step = Step(int(step))
    unknown = set(facts) - set(STEP_FACTS)
    if unknown:
        raise ValidationError({"__all__": [f"未知字段：{', '.join(sorted(unknown))}"]})
    people = list(people)
    problems = development_problems(
        member=member, step=step, done_on=done_on, facts=facts, people=people
    )
    if problems:
        raise RuleViolation(problems)
    deciding_org = _check_deciding_org(member, deciding_org, approval=step in APPROVAL_STEPS)
    row = DevelopmentStep.objects.create(
        member=member,
        step=step,
        done_on=done_on,
        deciding_org=deciding_org,
        actor=_user(actor),
        **{k: v for k, v in facts.items() if v not in (None, "")},
    )
    if people:
        row.people.set(people)
    reason = f"第{int(step)}步：{step.label}"
    if step == Step.ACTIVIST_CHOSEN:
        _transition(
            actor=actor,
            member=member,
            to=S.ACTIVIST,
            on=done_on,
            action="development_step_record",
            reason=reason,
            deciding_org=deciding_org,
            approval=False,
        )
    elif step == Step.CANDIDATE_CHOSEN:
        _transition(
            actor=actor,
            member=member,
            to=S.CANDIDATE,
            on=done_on,
            action="development_step_record",
            reason=reason,
            deciding_org=deciding_org,
            approval=False,
        )
    elif step == Step.ADMISSION_APPROVAL:
        meeting = member.steps.get(step=Step.ADMISSION_MEETING).done_on
        # 党籍 from the day the 支部大会 passed it; probation one year from then.
        member.status_since = meeting
        _transition(
            actor=actor,
            member=member,
            to=S.PROBATIONARY,
            on=done_on,
            action="development_step_record",
            reason=reason,
            deciding_org=deciding_org,
            joined_on=meeting,
            probation_ends_on=add_years(meeting, rules.PROBATION_YEARS),
        )
    elif step == Step.CONFIRMATION_APPROVAL:
        decision = member.steps.filter(step=Step.CONFIRMATION_MEETING).latest("done_on", "id")
        if decision.decision == ConfirmationDecision.EXTEND:
            member_probation_extend(
                actor=actor,
                member=member,
                months=decision.extension_months,
                on=done_on,
                reason=decision.note or "支部大会决定延长预备期",
                deciding_org=deciding_org,
            )
            # The extended probation ends in a second confirmation discussion (steps 22–24 again).
        elif decision.decision == ConfirmationDecision.CANCEL:
            member_probation_cancel(
                actor=actor,
                member=member,
                on=done_on,
                reason=decision.note or "支部大会决定",
                deciding_org=deciding_org,
            )
        else:
            member_confirm(
                actor=actor, member=member, on=done_on, reason=reason, deciding_org=deciding_org
            )
    _reminders_follow(member)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="development_step_record",
        changes={"step": [None, int(step)], "done_on": [None, done_on]},
    )
    return row


# ============================================================================================
# Dues (DOMAIN §4)
# ============================================================================================
def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _dues_rollup_refresh(pairs: Iterable[tuple[int, dt.date]]) -> None:
    """Recompute the (branch, month) rollup rows from the ledger; called inside every ledger write."""
    for branch_id, month in set(pairs):
        agg = DuesMonth.objects.filter(branch_id=branch_id, month=month).aggregate(
            n_members=Count("id"),
            sum_due=Sum(F("expected") - F("waived")),
            sum_paid=Sum("paid"),
            n_arrears=Count("id", filter=Q(paid__lt=F("expected") - F("waived"))),
        )
        DuesBranchMonth.objects.update_or_create(
            branch_id=branch_id,
            month=month,
            defaults={
                "members": agg["n_members"] or 0,
                "expected": agg["sum_due"] or 0,
                "paid": agg["sum_paid"] or 0,
                "in_arrears": agg["n_arrears"] or 0,
            },
        )


def _follow_member_move(
    member_ids: Iterable[int], *, from_branch_id: int, to_branch_id: int, on: dt.date
) -> None:
    """Members left `from_branch` for `to_branch` on `on`: their unpaid months from that month on
    are owed to the new branch (both branches' dues rollups follow), and their 党员 sign-in
    grant moves with them so that their home and own pages show the new branch."""
    from apps.accounts.models import Role, RoleGrant
    from apps.accounts.scope import forget_scope

    member_ids = list(member_ids)
    if not member_ids or from_branch_id == to_branch_id:
        return
    rows = DuesMonth.objects.filter(
        member_id__in=member_ids, branch_id=from_branch_id, paid=0, month__gte=_month_start(on)
    )
    months = set(rows.values_list("month", flat=True))
    rows.update(branch_id=to_branch_id)
    _dues_rollup_refresh(
        [(from_branch_id, m) for m in months] + [(to_branch_id, m) for m in months]
    )
    user_ids = Member.objects.filter(pk__in=member_ids, user__isnull=False).values("user_id")
    for grant in RoleGrant.objects.filter(
        user_id__in=user_ids, org_id=from_branch_id, role=Role.MEMBER
    ).select_related("user"):
        if RoleGrant.objects.filter(
            user=grant.user, org_id=to_branch_id, role=Role.MEMBER
        ).exists():
            grant.delete()
        else:
            RoleGrant.objects.filter(pk=grant.pk).update(org_id=to_branch_id)
        forget_scope(grant.user)


def members_follow_merge(*, org, into, on, **_) -> None:
    """organizations' `org_merged` signal: members of `org` are now in `into` (or, for a 党小组
    merged into a 党小组, in its branch)."""
    from apps.organizations.models import BRANCH_TYPES

    source_id = org.pk if org.org_type in BRANCH_TYPES else org.parent_id
    target = into if into.org_type in BRANCH_TYPES else into.parent
    if source_id is None or target is None:
        return
    ids = Member.objects.filter(branch_id=target.pk).values_list("pk", flat=True)
    _follow_member_move(ids, from_branch_id=source_id, to_branch_id=target.pk, on=on)


@transaction.atomic
def dues_base_set(
    *, actor, member: Member, year: int, kind: str, base: Decimal | None = None
) -> DuesBase:
    """每年初核定: the monthly amount for `year`, written to every not-yet-paid month of the ledger
    from January (or the month 支部大会 passed the member) to December."""
    if kind not in rules.DuesKind.values:
        raise ValidationError({"kind": ["请选择交纳类别。"]})
    if kind in rules.BASE_KINDS:
        if base is None or str(base).strip() == "":
            raise ValidationError({"base": ["请填写月计算基数（税后工资/离退休费）。"]})
        base = Decimal(str(base))
        if base < 0:
            raise ValidationError({"base": ["计算基数不能为负数。"]})
        base = base.quantize(rules.CENT)
    else:
        base = None
    amount = rules.dues_monthly_amount(kind, base)
    row, _ = DuesBase.objects.update_or_create(
        member=member,
        year=year,
        defaults={"kind": kind, "base": base, "monthly_amount": amount, "set_by": _user(actor)},
    )
    first = dt.date(year, 1, 1)
    if member.joined_on and member.joined_on.year == year:
        first = _month_start(member.joined_on)
    elif member.joined_on and member.joined_on.year > year:
        raise ValidationError({"year": ["该年度尚未入党，无需交纳党费。"]})
    touched = []
    for month in range(first.month, 13):
        day = dt.date(year, month, 1)
        ledger, created = DuesMonth.objects.get_or_create(
            member=member, month=day, defaults={"branch_id": member.branch_id, "expected": amount}
        )
        if not created and ledger.paid == 0 and ledger.expected != amount:
            ledger.expected = amount
            ledger.waived = min(ledger.waived, amount)
            ledger.save(update_fields=["expected", "waived"])
        touched.append((ledger.branch_id, day))
    _dues_rollup_refresh(touched)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=member,
        verb="dues_base_set",
        changes={
            "year": [None, year],
            "kind": [None, kind],
            "base": [None, base],
            "monthly": [None, amount],
        },
    )
    return row


@transaction.atomic
def dues_pay(
    *,
    actor,
    member: Member,
    months: list[dt.date],
    paid_on: dt.date,
    mode: str = PaymentMode.MONTHLY,
    paid_by: str = "",
    extra: Decimal = Decimal("0"),
) -> DuesPayment:
    """Record a payment covering `months` (first days). Monthly: one month; quarterly: the three
    months of one quarter; back-pay at most 6 months back; 代交 names who paid; extra is voluntary."""
    months = sorted({_month_start(m) for m in months})
    extra = Decimal(str(extra or 0)).quantize(rules.CENT)
    if extra < 0:
        raise ValidationError({"extra": ["自愿多交金额不能为负数。"]})
    if mode not in PaymentMode.values:
        raise ValidationError({"mode": ["请选择交纳方式。"]})
    if paid_on > local_today():
        raise ValidationError({"paid_on": ["交纳日期不能晚于今天。"]})
    if not months and not extra:
        raise ValidationError({"months": ["请选择所交月份。"]})
    if mode == PaymentMode.MONTHLY and len(months) != 1:
        raise ValidationError({"months": ["按月交纳只能选择一个月。"]})
    if mode == PaymentMode.QUARTERLY:
        q = Period.containing("quarter", months[0]) if months else None
        if not q or [m.start for m in q.months()] != months:
            raise ValidationError({"months": ["按季度交纳须选择同一季度的3个月。"]})
    if mode == PaymentMode.PROXY and not paid_by.strip():
        raise ValidationError({"paid_by": ["委托代交须填写代交人。"]})
    earliest = add_months(_month_start(paid_on), -rules.BACKPAY_MAX_MONTHS)
    if months and months[0] < earliest:
        raise RuleViolation(
            f"补交党费一般不超过6个月：{paid_on:%Y年%m月}只能补交{earliest:%Y年%m月}及以后的党费。"
        )
    ledger = list(
        DuesMonth.objects.select_for_update()
        .filter(member=member, month__in=months)
        .order_by("month")
    )
    if len(ledger) != len(months):
        missing = sorted(set(months) - {row.month for row in ledger})
        raise ValidationError({"months": [f"{missing[0]:%Y年%m月}尚未核定党费基数。"]})
    settled = [row.month for row in ledger if row.paid > 0 or row.settled]
    if settled:
        raise ValidationError({"months": [f"{settled[0]:%Y年%m月}的党费已交。"]})
    amount = sum((row.due for row in ledger), Decimal("0"))
    payment = DuesPayment.objects.create(
        member=member,
        branch_id=member.branch_id,
        paid_on=paid_on,
        mode=mode,
        amount=amount,
        extra=extra,
        to_central=extra >= rules.CENTRAL_EXTRA_THRESHOLD,
        paid_by=paid_by.strip(),
        months=[m.isoformat() for m in months],
        recorded_by=_user(actor),
    )
    for row in ledger:
        row.paid = row.due
        row.payment = payment
        row.save(update_fields=["paid", "payment"])
    _dues_rollup_refresh((row.branch_id, row.month) for row in ledger)
    from apps.notifications.rules import reminders_dues_paid

    reminders_dues_paid(member=member, months=months)  # arrears reminders, same transaction
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="dues_pay",
        changes={
            "months": [None, payment.months],
            "amount": [None, amount],
            "extra": [None, extra],
        },
    )
    return payment


@transaction.atomic
def dues_payment_undo(*, actor, payment: DuesPayment, reason: str) -> None:
    """Unmark a payment recorded by mistake (the one-click sheet's undo). Audited with the reason."""
    if not reason:
        raise ValidationError({"reason": ["请填写撤销原因。"]})
    rows = list(payment.ledger.select_for_update())
    DuesMonth.objects.filter(pk__in=[r.pk for r in rows]).update(paid=0, payment=None)
    _dues_rollup_refresh((r.branch_id, r.month) for r in rows)
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=payment.member,
        verb="dues_payment_undo",
        changes={"months": [payment.months, None], "amount": [payment.amount, None]},
        reason=reason,
    )
    payment.delete()


@transaction.atomic
def dues_waiver_request(
    *,
    actor,
    member: Member,
    first_month: dt.date,
    last_month: dt.date,
    monthly_amount: Decimal,
    reason: str,
) -> DuesWaiver:
    """困难党员少交或免交: the branch proposes (then the superior committee decides)."""
    first_month, last_month = _month_start(first_month), _month_start(last_month)
    if last_month < first_month:
        raise ValidationError({"last_month": ["截止月份不能早于起始月份。"]})
    if not reason:
        raise ValidationError({"reason": ["请填写减免原因。"]})
    monthly_amount = Decimal(str(monthly_amount)).quantize(rules.CENT)
    if monthly_amount < 0:
        raise ValidationError({"monthly_amount": ["金额不能为负数。"]})
    waiver = DuesWaiver.objects.create(
        member=member,
        first_month=first_month,
        last_month=last_month,
        monthly_amount=monthly_amount,
        reason=reason,
        requested_by=_user(actor),
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="dues_waiver_request",
        changes={
            "months": [None, f"{first_month:%Y-%m}~{last_month:%Y-%m}"],
            "monthly": [None, monthly_amount],
        },
    )
    return waiver


@transaction.atomic
def dues_waiver_decide(
    *, actor, waiver: DuesWaiver, approve: bool, on: dt.date | None = None
) -> DuesWaiver:
    """上一级党委批准 (or not). Approval lowers the unpaid months of the period."""
    waiver = DuesWaiver.objects.select_for_update().get(pk=waiver.pk)
    if waiver.state != WaiverState.REQUESTED:
        raise RuleViolation("该减免申请已审批。")
    waiver.state = WaiverState.APPROVED if approve else WaiverState.REJECTED
    waiver.decided_by, waiver.decided_on = _user(actor), on or local_today()
    waiver.save()
    if approve:
        rows = list(
            DuesMonth.objects.select_for_update().filter(
                member=waiver.member,
                month__gte=waiver.first_month,
                month__lte=waiver.last_month,
                paid=0,
            )
        )
        for row in rows:
            row.waived = max(Decimal("0"), row.expected - waiver.monthly_amount)
            row.save(update_fields=["waived"])
        _dues_rollup_refresh((r.branch_id, r.month) for r in rows)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=waiver.member,
        verb="dues_waiver_decide",
        changes={"state": [WaiverState.REQUESTED, waiver.state]},
    )
    return waiver


def dues_arrears_months(*, member: Member, today: dt.date | None = None) -> int:
    """Consecutive unpaid months counted back from last month (this month is not late yet)."""
    today = today or local_today()
    last = add_months(_month_start(today), -1)
    rows = (
        DuesMonth.objects.filter(member=member, month__lte=last)
        .order_by("-month")
        .values_list("month", "expected", "waived", "paid")[:24]
    )
    count, expect = 0, last
    for month, expected, waived, paid in rows:
        if month != expect or paid >= expected - waived:
            break
        count += 1
        expect = add_months(expect, -1)
    return count


@transaction.atomic
def dues_arrears_sweep(
    *, today: dt.date | None = None, branch_ids: Iterable[int] | None = None
) -> int:
    """6 consecutive unpaid months → a pending item for the branch (自行脱党 review). Never removes."""
    today = today or local_today()
    last = add_months(_month_start(today), -1)
    window = [add_months(last, -i) for i in range(rules.ARREARS_REVIEW_MONTHS)]
    qs = DuesMonth.objects.filter(
        month__in=window,
        paid__lt=F("expected") - F("waived"),
        member__status__in=[S.FULL, *PROBATIONARY_STATUSES],
    )
    if branch_ids is not None:
        qs = qs.filter(branch_id__in=list(branch_ids))
    member_ids = (
        qs.values("member_id")
        .annotate(n=Count("id"))
        .filter(n=rules.ARREARS_REVIEW_MONTHS)
        .values_list("member_id", flat=True)
    )
    raised = 0
    for member in Member.objects.filter(pk__in=list(member_ids)):
        raised += _raise_pending(
            member,
            PendingKind.LAPSE_REVIEW,
            today,
            f"截至{last:%Y年%m月}已连续6个月未交纳党费，请支部研究是否按自行脱党处理（须支部大会决定，系统不自动除名）。",
        )
    return raised


# ============================================================================================
# Transfers (DOMAIN §3.5)
# ============================================================================================
def _transfer_move(transfer: Transfer, to: str, actor, note: str = "") -> Transfer:
    old = transfer.state
    transfer.state = to
    transfer.save()
    TransferEvent.objects.create(
        transfer=transfer, from_state=old, to_state=to, actor=_user(actor), note=note
    )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=transfer.member,
        verb=f"transfer_{to}",
        changes={"transfer": [old, to]},
        reason=note,
    )
    return transfer


@transaction.atomic
def member_transfer_start(
    *,
    actor,
    member: Member,
    kind: str,
    applied_on: dt.date,
    target_org: Org | None = None,
    external_org: str = "",
    reason: str = "",
) -> Transfer:
    if member.status not in (S.FULL, *PROBATIONARY_STATUSES):
        raise RuleViolation("只有正式党员和预备党员可以转接组织关系。")
    if Transfer.objects.filter(member=member, state__in=OPEN_TRANSFER_STATES).exists():
        raise RuleViolation("该党员已有正在办理的组织关系转接。")
    if kind == TransferKind.INTERNAL:
        if target_org is None:
            raise ValidationError({"target_org": ["请选择转入的党组织。"]})
        if target_org.path.startswith(member.branch.path) and target_org.pk == member.branch_id:
            raise ValidationError({"target_org": ["转入组织不能是现所在支部。"]})
    elif kind == TransferKind.OUT_LETTER:
        if not external_org.strip():
            raise ValidationError({"external_org": ["请填写转入的平台外党组织名称。"]})
    else:
        raise ValidationError({"kind": ["请选择转接类型。"]})
    days = int(rule_value("members.transfer_valid_days"))
    transfer = Transfer.objects.create(
        member=member,
        kind=kind,
        source_branch=member.branch,
        target_org=target_org,
        external_org=external_org.strip(),
        reason=reason,
        applied_on=applied_on,
        valid_until=applied_on + dt.timedelta(days=days),
    )
    TransferEvent.objects.create(
        transfer=transfer, to_state=TransferState.APPLIED, actor=_user(actor), note=reason
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="member_transfer_start",
        changes={"transfer": [None, kind]},
        reason=reason,
    )
    return transfer


def _open(transfer: Transfer, *states: str) -> Transfer:
    transfer = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("member", "target_org")
        .get(pk=transfer.pk)
    )
    if transfer.state not in states:
        raise RuleViolation(f"该转接当前为“{transfer.get_state_display()}”，不能执行此操作。")
    if transfer.valid_until < local_today() and transfer.state in OPEN_TRANSFER_STATES:
        raise RuleViolation(f"该转接已于{transfer.valid_until:%Y年%m月%d日}过期，请重新办理。")
    return transfer


@transaction.atomic
def member_transfer_approve(*, actor, transfer: Transfer, note: str = "") -> Transfer:
    """转出党委审批. For a letter out of the platform: number, dues paid until, validity."""
    transfer = _open(transfer, TransferState.APPLIED)
    return _transfer_move(transfer, TransferState.APPROVED, actor, note)


@transaction.atomic
def member_transfer_letter_issue(
    *,
    actor,
    transfer: Transfer,
    letter_number: str,
    dues_paid_until: dt.date,
    valid_days: int | None = None,
) -> Transfer:
    transfer = _open(transfer, TransferState.APPROVED)
    if transfer.kind != TransferKind.OUT_LETTER:
        raise RuleViolation("平台内转接不需要开具纸质介绍信。")
    if not letter_number.strip():
        raise ValidationError({"letter_number": ["请填写介绍信编号。"]})
    transfer.letter_number = letter_number.strip()
    transfer.dues_paid_until = _month_start(dues_paid_until)
    transfer.valid_until = local_today() + dt.timedelta(
        days=int(valid_days or rule_value("members.transfer_valid_days"))
    )
    return _transfer_move(
        transfer, TransferState.LETTER_ISSUED, actor, f"介绍信{transfer.letter_number}"
    )


@transaction.atomic
def member_transfer_accept(
    *, actor, transfer: Transfer, target_branch: Org, on: dt.date | None = None
) -> Transfer:
    """The target places the member in a branch; until now the source kept responsibility."""
    transfer = _open(transfer, TransferState.APPROVED)
    if transfer.kind != TransferKind.INTERNAL:
        raise RuleViolation("只有平台内转接由接收方在平台上接收。")
    if not target_branch.path.startswith(transfer.target_org.path):
        raise ValidationError({"target_branch": ["编入的支部必须属于转入党组织。"]})
    _check_placement(target_branch, None)
    member = _locked(transfer.member)
    from_branch_id = member.branch_id
    member.branch, member.party_group = target_branch, None
    member.save(update_fields=["branch", "party_group", "updated_at"])
    _follow_member_move(
        [member.pk],
        from_branch_id=from_branch_id,
        to_branch_id=target_branch.pk,
        on=on or local_today(),
    )
    transfer.target_branch = target_branch
    return _transfer_move(transfer, TransferState.ACCEPTED, actor, f"编入{target_branch.name}")


@transaction.atomic
def member_transfer_receipt(*, actor, transfer: Transfer, returned_on: dt.date) -> Transfer:
    """回执返回: the member leaves the roster of the platform."""
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    # The letter's validity is for the member to report to the receiving org; the receipt
    # follows up to a month later and may be later still: an expired issued letter takes it too.
    late = (
        transfer.state == TransferState.EXPIRED
        and transfer.kind == TransferKind.OUT_LETTER
        and bool(transfer.letter_number)
    )
    if transfer.state != TransferState.LETTER_ISSUED and not late:
        raise RuleViolation("只有已开具介绍信的转接可以登记回执。")
    if returned_on > local_today():
        raise ValidationError({"returned_on": ["回执日期不能晚于今天。"]})
    transfer.receipt_returned_on = returned_on
    member = _locked(transfer.member)
    member.transferred_out_on = returned_on
    member.save(update_fields=["transferred_out_on", "updated_at"])
    return _transfer_move(
        transfer, TransferState.RECEIPT_RETURNED, actor, "逾期后收到回执" if late else ""
    )


@transaction.atomic
def member_transfer_close(*, actor, transfer: Transfer, to: str, note: str = "") -> Transfer:
    """退回 (rejected, by the receiving side, with the reason) or 撤回 (withdrawn)."""
    if to not in (TransferState.REJECTED, TransferState.WITHDRAWN):
        raise ValidationError({"state": ["只能退回或撤回。"]})
    note = (note or "").strip()
    if to == TransferState.REJECTED and not note:
        raise ValidationError({"note": ["请填写退回原因。"]})
    check_lengths(TransferEvent, note=note)
    transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if transfer.state not in OPEN_TRANSFER_STATES:
        raise RuleViolation("该转接已结束。")
    return _transfer_move(transfer, to, actor, note)


@transaction.atomic
def member_transfer_register_in(
    *,
    actor,
    branch: Org,
    letter_number: str,
    external_org: str,
    received_on: dt.date,
    name: str,
    gender: str,
    status: str = S.FULL,
    id_number: str = "",
    **fields,
) -> Transfer:
    """从平台外转入: register a member from a paper letter (介绍信)."""
    if not letter_number.strip() or not external_org.strip():
        raise ValidationError({"letter_number": ["请填写介绍信编号和转出党组织。"]})
    member = member_create(
        actor=actor,
        branch=branch,
        name=name,
        gender=gender,
        status=status,
        id_number=id_number,
        changed_on=received_on,
        reason=f"凭介绍信{letter_number}转入",
        **fields,
    )
    transfer = Transfer.objects.create(
        member=member,
        kind=TransferKind.IN_LETTER,
        state=TransferState.ACCEPTED,
        target_org=branch,
        target_branch=branch,
        external_org=external_org,
        letter_number=letter_number,
        applied_on=received_on,
        valid_until=received_on,
    )
    TransferEvent.objects.create(
        transfer=transfer,
        to_state=TransferState.ACCEPTED,
        actor=_user(actor),
        note=f"凭介绍信{letter_number}转入",
    )
    return transfer


@transaction.atomic
def transfer_expire_sweep(*, today: dt.date | None = None) -> int:
    """Open requests past their validity expire. An issued letter waits for its receipt (回执,
    due within a month of the member's arrival) a month longer than its validity."""
    today = today or local_today()
    count = 0
    receipt_cutoff = add_months(today, -rules.RECEIPT_MONTHS)
    for transfer in Transfer.objects.select_for_update().filter(
        Q(state__in=OPEN_TRANSFER_STATES - {TransferState.LETTER_ISSUED}, valid_until__lt=today)
        | Q(state=TransferState.LETTER_ISSUED, valid_until__lt=receipt_cutoff)
    ):
        _transfer_move(transfer, TransferState.EXPIRED, None, "超过有效期")
        count += 1
    return count


@transaction.atomic
def mobile_contact_record(
    *, actor, member: Member, contacted_on: dt.date, way: str = "", note: str = ""
) -> MobileContact:
    if contacted_on > local_today():
        raise ValidationError({"contacted_on": ["联系日期不能晚于今天。"]})
    contact = MobileContact.objects.create(
        member=member, contacted_on=contacted_on, way=way, note=note, actor=_user(actor)
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="mobile_contact_record",
        changes={"contacted_on": [None, contacted_on]},
    )
    return contact


# ============================================================================================
# Study hours (DOMAIN §5)
# ============================================================================================
@transaction.atomic
def study_record_add(
    *, actor, member: Member, course: str, held_on: dt.date, hours: Decimal, source: str = ""
) -> StudyRecord:
    hours = Decimal(str(hours))
    if not Decimal("0") < hours <= Decimal("200"):
        raise ValidationError({"hours": ["学时应大于0且不超过200。"]})
    if not course.strip():
        raise ValidationError({"course": ["请填写课程或活动名称。"]})
    if held_on > local_today():
        raise ValidationError({"held_on": ["日期不能晚于今天。"]})
    record = StudyRecord.objects.create(
        member=member,
        course=course.strip(),
        held_on=held_on,
        hours=hours,
        source=source,
        recorded_by=_user(actor),
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=member,
        verb="study_record_add",
        changes={"course": [None, course], "hours": [None, hours]},
    )
    return record


def dues_rollup_rebuild(*, months: Iterable[dt.date] | None = None) -> int:
    """Rebuild the per-branch monthly rollup from the ledger in one statement (seeding, nightly
    reconciliation). Returns the number of rollup rows written."""
    from django.db import connection

    where = ""
    params: list = []
    if months is not None:
        where = "WHERE month = ANY(%s)"
        params = [list(months)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO members_duesbranchmonth (branch_id, month, members, expected, paid, in_arrears)
            SELECT branch_id, month, count(*), sum(expected - waived), sum(paid),
                   count(*) FILTER (WHERE paid < expected - waived)
            FROM members_duesmonth {where}
            GROUP BY branch_id, month
            ON CONFLICT (branch_id, month) DO UPDATE SET members = EXCLUDED.members,
                expected = EXCLUDED.expected, paid = EXCLUDED.paid, in_arrears = EXCLUDED.in_arrears
            """,
            params,
        )
        return cursor.rowcount
