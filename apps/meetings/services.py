"""Meeting writes. Every service is one transaction that also UPSERTs the rollups
(apps.meetings.rollups.stats_apply) and writes the audit log. Views and the API call these.

Events for other apps: `meeting_event` is sent after commit with `meeting_id` and `event` in
EVENTS; the meeting's reminders are synced inside the transaction (`_emit`)."""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from apps.core.audit import audit_log
from apps.core.models import AuditAction
from apps.core.periods import local_date
from apps.core.rules import rule_value
from apps.meetings import rollups, rules, similarity
from apps.meetings.models import (
    COUNTED_STATES,
    LOCKED_STATES,
    PRESENT_STATUSES,
    Appraisal,
    AppraisalGrade,
    AttachmentKind,
    Attendance,
    AttendanceStatus,
    CriticismNote,
    ExclusionReason,
    Exemption,
    FlagCode,
    Meeting,
    MeetingAttachment,
    MeetingFlag,
    MeetingGuest,
    MeetingKind,
    MeetingState,
    MeetingVersion,
    VoteItem,
    VoteKind,
)
from apps.members.models import MEMBER_STATUSES, PROBATIONARY_STATUSES, Member
from apps.organizations.models import BRANCH_TYPES, Org, OrgType

meeting_event = Signal()  # kwargs: meeting_id, event
EVENTS = (
    "planned",
    "moved",
    "cancelled",
    "recorded",
    "submitted",
    "accepted",
    "returned",
    "revised",
    "deleted",
    "attendees",
)

ALLOWED_UPLOADS = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}
MAGIC = {
    "image/jpeg": [b"\xff\xd8\xff"],
    "image/png": [b"\x89PNG\r\n\x1a\n"],
    "image/webp": [b"RIFF"],
    "application/pdf": [b"%PDF-"],
}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _emit(meeting_id: int, event: str) -> None:
    # Reminders follow the meeting in this same transaction (written, moved or withdrawn);
    # other listeners hear `meeting_event` once it has committed.
    from apps.notifications.rules import reminders_meeting_sync

    reminders_meeting_sync(meeting_id=meeting_id, event=event)
    transaction.on_commit(
        lambda: meeting_event.send(sender=Meeting, meeting_id=meeting_id, event=event)
    )


@contextmanager
def _rollup_guard(meeting: Meeting):
    """Take the meeting's rollup contribution before and after the block and UPSERT the difference."""
    before = rollups.contribution(meeting)
    yield
    rollups.stats_apply(before=before, after=rollups.contribution(meeting))


def _lock(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("branch", "party_group")
        .get(pk=meeting.pk)
    )


# --- validation helpers ---------------------------------------------------------------------


def _clean_kinds(kinds: Iterable[str]) -> list[str]:
    valid = set(MeetingKind.values)
    out = []
    for kind in kinds or []:
        if kind not in valid:
            raise ValidationError({"kinds": [f"未知的会议类型：{kind}"]})
        if kind not in out:
            out.append(kind)
    if not out:
        raise ValidationError({"kinds": ["请至少选择一种会议类型。"]})
    if MeetingKind.SECRETARY_LECTURE in out and MeetingKind.LECTURE not in out:
        out.append(MeetingKind.LECTURE)  # a secretary's lecture is also a 党课
    return sorted(out, key=MeetingKind.values.index)


def _check_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError({"starts_at": ["请填写会议起止时间。"]})
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": ["时间须带时区。"]})
    if ends_at < starts_at:
        raise ValidationError({"ends_at": ["结束时间不能早于开始时间。"]})
    if ends_at - starts_at > dt.timedelta(days=3):
        raise ValidationError({"ends_at": ["一次会议不能超过3天。"]})


def _check_branch(branch: Org, party_group: Org | None, kinds: list[str]) -> None:
    if branch.org_type not in BRANCH_TYPES:
        raise ValidationError({"branch": ["会议须由党支部召开。"]})
    if not branch.is_active:
        raise ValidationError({"branch": ["该支部已撤销。"]})
    if party_group is not None and (
        party_group.org_type != OrgType.PARTY_GROUP or party_group.parent_id != branch.pk
    ):
        raise ValidationError({"party_group": ["党小组不属于该支部。"]})
    if (
        MeetingKind.GROUP in kinds
        and party_group is None
        and Org.objects.filter(
            parent=branch, org_type=OrgType.PARTY_GROUP, abolished_on__isnull=True
        ).exists()
    ):
        raise ValidationError({"party_group": ["党小组会请选择党小组。"]})


def roster(branch: Org, party_group: Org | None = None):
    """Expected attendees by default: the party members (预备 and 正式) of the branch or group."""
    qs = Member.objects.party_members().filter(branch=branch)
    if party_group is not None:
        qs = qs.filter(party_group=party_group)
    return qs.order_by("name", "id")


def committee_roster(branch: Org):
    """The branch committee (支部委员会): party members of the branch holding an open committee
    position (书记, 副书记, 委员 ...; not 党小组组长)."""
    from apps.organizations.models import CommitteePosition, Position

    held = (
        CommitteePosition.objects.filter(org=branch, ended_on__isnull=True)
        .exclude(position=Position.GROUP_LEADER)
        .values("member_id")
    )
    return roster(branch).filter(pk__in=held)


def default_attendees(branch: Org, party_group: Org | None, kinds: list[str]) -> list[Member]:
    """Who is expected when the secretary does not pick: a 支委会 alone, the committee (the
    whole roster while no committee is registered); a 谈心谈话 alone, nobody (the secretary
    picks the participants); otherwise the branch or party-group roster."""
    if kinds == [MeetingKind.COMMITTEE]:
        return list(committee_roster(branch)) or list(roster(branch))
    if kinds == [MeetingKind.TALK]:
        return []
    return list(roster(branch, party_group))


def is_talk_only(meeting: Meeting) -> bool:
    return list(meeting.kinds) == [MeetingKind.TALK]


def _branch_members(branch: Org, ids: Iterable) -> list[Member]:
    """The party members (预备 and 正式, on the roster) of the branch with these ids; anyone
    else (applicants, members who left, died or were transferred out, other branches) refused."""
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise ValidationError({"attendees": ["党员编号无效。"]}) from None
    found = list(Member.objects.party_members().filter(branch=branch, pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError(
            {
                "attendees": [
                    "只能选择本支部的党员（预备党员、正式党员）；其他人员请作为列席人员登记。"
                ]
            }
        )
    return found


def _refresh_counters(meeting: Meeting) -> None:
    rows = list(
        meeting.attendances.filter(excluded_from_expected=False).values_list("status", flat=True)
    )
    meeting.expected_count = len(rows)
    meeting.present_count = sum(1 for s in rows if s in PRESENT_STATUSES)
    meeting.online_count = sum(1 for s in rows if s == AttendanceStatus.ONLINE)
    meeting.leave_count = sum(1 for s in rows if s == AttendanceStatus.LEAVE)
    meeting.absent_count = sum(1 for s in rows if s == AttendanceStatus.ABSENT)


# --- plan, move, cancel, delete ------------------------------------------------------------------


@transaction.atomic
def meeting_plan(
    *,
    actor,
    branch: Org,
    kinds: Iterable[str],
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str = "",
    party_group: Org | None = None,
    attendee_ids: Iterable[int] | None = None,
    guests: Iterable[dict] = (),
    unplanned_reason: str = "",
) -> Meeting:
    """Plan a meeting (or start the record of one already held: then `planned_at` stays empty
    and a reason for holding it outside the plan is expected)."""
    kinds = _clean_kinds(kinds)
    _check_times(starts_at, ends_at)
    _check_branch(branch, party_group, kinds)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ["请填写会议名称或议题。"]})
    members = (
        _branch_members(branch, attendee_ids)
        if attendee_ids is not None
        else default_attendees(branch, party_group, kinds)
    )
    now = timezone.now()
    meeting = Meeting.objects.create(
        branch=branch,
        party_group=party_group,
        kinds=kinds,
        title=title[:200],
        place=(place or "")[:200],
        starts_at=starts_at,
        ends_at=ends_at,
        state=MeetingState.PLANNED,
        planned_at=now if starts_at > now else None,
        unplanned_reason=(unplanned_reason or "")[:300],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    Attendance.objects.bulk_create(
        [Attendance(meeting=meeting, member=m, has_vote=m.has_vote) for m in members]
    )
    _set_guests(meeting, guests)
    _refresh_counters(meeting)
    meeting.save(
        update_fields=[
            "expected_count",
            "present_count",
            "online_count",
            "leave_count",
            "absent_count",
        ]
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=meeting,
        verb="meeting_plan",
        changes={"kinds": [None, kinds], "starts_at": [None, starts_at]},
    )
    _emit(meeting.pk, "planned")
    return meeting


def _set_guests(meeting: Meeting, guests: Iterable[dict] | None) -> None:
    if guests is None:
        return
    meeting.guests.all().delete()
    rows = []
    for g in guests:
        name = (g.get("name") or "").strip()
        if name:
            rows.append(
                MeetingGuest(
                    meeting=meeting, name=name[:60], affiliation=(g.get("affiliation") or "")[:120]
                )
            )
    MeetingGuest.objects.bulk_create(rows)


def _require_unlocked(meeting: Meeting, action: str) -> None:
    if meeting.state in LOCKED_STATES:
        raise ValidationError(
            {"state": [f"会议记录已报送，不能{action}；如需修改请填写修改原因。"]}
        )
    if meeting.state == MeetingState.CANCELLED:
        raise ValidationError({"state": ["会议已取消。"]})


@transaction.atomic
def meeting_move(
    *,
    actor,
    meeting: Meeting,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    place: str | None = None,
) -> Meeting:
    meeting = _lock(meeting)
    _require_unlocked(meeting, "改期")
    _check_times(starts_at, ends_at)
    before = {"starts_at": meeting.starts_at, "ends_at": meeting.ends_at, "place": meeting.place}
    with _rollup_guard(meeting):
        meeting.starts_at, meeting.ends_at = starts_at, ends_at
        if place is not None:
            meeting.place = place[:200]
        meeting.save(update_fields=["starts_at", "ends_at", "place", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        verb="meeting_move",
        changes={
            k: [v, getattr(meeting, k)] for k, v in before.items() if v != getattr(meeting, k)
        },
    )
    _emit(meeting.pk, "moved")
    return meeting


@transaction.atomic
def meeting_cancel(*, actor, meeting: Meeting, reason: str) -> Meeting:
    meeting = _lock(meeting)
    _require_unlocked(meeting, "取消")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写取消原因。"]})
    with _rollup_guard(meeting):
        meeting.state = MeetingState.CANCELLED
        meeting.cancel_reason = reason[:300]
        meeting.save(update_fields=["state", "cancel_reason", "updated_at"])
    audit_log(
        actor=actor, action=AuditAction.UPDATE, obj=meeting, verb="meeting_cancel", reason=reason
    )
    _emit(meeting.pk, "cancelled")
    return meeting


@transaction.atomic
def meeting_delete(*, actor, meeting: Meeting, reason: str = "") -> None:
    """Delete a mistaken entry that was never reported. A record that was ever submitted
    (even if returned since) stays, with its versions: a duplicate is returned and cancelled."""
    meeting = _lock(meeting)
    if meeting.submitted_at is not None or meeting.state in LOCKED_STATES:
        raise ValidationError(
            {"state": ["已报送过的会议记录不能删除；如系重复录入，请上级退回后取消并说明原因。"]}
        )
    with _rollup_guard(meeting):
        meeting.state = MeetingState.CANCELLED  # contribution() of a deleted meeting is empty
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=meeting,
        verb="meeting_delete",
        reason=reason or "",
    )
    pk = meeting.pk
    for att in meeting.attachments.all():
        att.file.delete(save=False)
    meeting.delete()
    _emit(pk, "deleted")


# --- record ---------------------------------------------------------------------------------------


def meeting_snapshot(meeting: Meeting) -> dict[str, Any]:
    return {
        "kinds": list(meeting.kinds),
        "title": meeting.title,
        "place": meeting.place,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "state": meeting.state,
        "host": meeting.host_id,
        "recorder": meeting.recorder_id,
        "lecturer": meeting.lecturer_id,
        "lecturer_name": meeting.lecturer_name,
        "minutes": meeting.minutes,
        "decisions": meeting.decisions,
        "topics": meeting.topics,
        "counters": [
            meeting.expected_count,
            meeting.present_count,
            meeting.leave_count,
            meeting.absent_count,
        ],
        "attendance": [
            [
                a.member_id,
                a.member.name,
                a.status,
                a.reason,
                a.has_vote,
                a.excluded_from_expected,
                a.exclusion_basis,
                a.exclusion_reason,
            ]
            for a in meeting.attendances.select_related("member").order_by("member_id")
        ],
        "guests": [[g.name, g.affiliation] for g in meeting.guests.all()],
        "votes": [
            [v.kind, v.title, v.yes, v.no, v.abstain, v.passed, v.contest, v.seats, v.runoff]
            for v in meeting.votes.all()
        ],
        "appraisals": [
            [a.member_id, a.grade, a.comment] for a in meeting.appraisals.order_by("member_id")
        ],
        "criticism": [
            [c.member_id, c.self_criticism, c.criticism_received]
            for c in meeting.criticism_notes.order_by("member_id")
        ],
    }


# Edits of a locked record by the same person with the same reason within this window make
# one version (an editing session: several attendance taps, then the minutes).
EDIT_SESSION = dt.timedelta(minutes=30)


def _begin_edit(meeting: Meeting, *, actor, reason: str) -> None:
    """Editing a reported record keeps the old one as a version (STYLE #5):
    - submitted or accepted: a reason is needed; an accepted record goes back for review;
      the edits of one session (same person and reason, within EDIT_SESSION, no review in
      between) share one version;
    - returned: the first edit after the return keeps the returned record as a version."""
    if meeting.state == MeetingState.CANCELLED:
        raise ValidationError({"state": ["会议已取消，不能记录。"]})
    if meeting.state not in (*LOCKED_STATES, MeetingState.RETURNED):
        return
    user = actor if getattr(actor, "is_authenticated", False) else None
    reason = (reason or "").strip()
    last = meeting.versions.order_by("-number").first()
    if meeting.state == MeetingState.RETURNED:
        if last is not None and meeting.reviewed_at and last.created_at >= meeting.reviewed_at:
            return  # already kept since the return
        reason = reason or f"按退回意见修改：{meeting.review_comment}"
    else:
        if not reason:
            raise ValidationError(
                {"reason": ["会议记录已报送，修改须填写修改原因（将保留原版本）。"]}
            )
        if (
            last is not None
            and user is not None
            and last.changed_by_id == user.pk
            and last.reason == reason[:300]
            and last.created_at >= timezone.now() - EDIT_SESSION
            and (meeting.reviewed_at is None or meeting.reviewed_at < last.created_at)
        ):
            return  # the same editing session: the version kept at its start covers it
    MeetingVersion.objects.create(
        meeting=meeting,
        number=meeting.version,
        snapshot=meeting_snapshot(meeting),
        changed_by=user,
        reason=reason[:300],
    )
    meeting.version += 1
    if meeting.state == MeetingState.ACCEPTED:
        meeting.state = MeetingState.SUBMITTED  # the superior reviews the new version
        meeting.reviewed_at = None


@transaction.atomic
def meeting_record(
    *,
    actor,
    meeting: Meeting,
    attendance: Iterable[dict] | None = None,
    host_id: int | None = None,
    recorder_id: int | None = None,
    lecturer_id: int | None = None,
    lecturer_name: str | None = None,
    minutes: str | None = None,
    decisions: str | None = None,
    topics: str | None = None,
    guests: Iterable[dict] | None = None,
    votes: Iterable[dict] | None = None,
    unplanned_reason: str | None = None,
    title: str | None = None,
    place: str | None = None,
    reason: str = "",
) -> Meeting:
    """Record what happened (attendance, minutes, decisions, votes ...). Arguments left as None
    stay unchanged. On a submitted/accepted record this makes a new version (`reason` needed)."""
    meeting = _lock(meeting)
    was_locked = meeting.state in LOCKED_STATES
    version_before = meeting.version
    if meeting.starts_at > timezone.now():
        raise ValidationError(
            {
                "starts_at": [
                    "会议尚未开始，不能登记记录；如需调整应到人员请在“应到/列席人员”中修改。"
                ]
            }
        )
    with _rollup_guard(meeting):
        _begin_edit(meeting, actor=actor, reason=reason)
        errors: dict[str, list[str]] = {}
        if attendance is not None:
            _apply_attendance(meeting, attendance, errors)
        people = {}
        wanted = {
            field: value
            for field, value in (
                ("host", host_id),
                ("recorder", recorder_id),
                ("lecturer", lecturer_id),
            )
            if value not in (None, "")
        }
        found = {}
        if wanted:  # one query for host, recorder and lecturer
            ids = {int(v) for v in wanted.values() if str(v).isdigit()}
            current = {meeting.host_id, meeting.recorder_id, meeting.lecturer_id} - {None}
            found = {
                m.pk: m
                for m in Member.objects.filter(pk__in=ids, branch=meeting.branch).filter(
                    Q(status__in=MEMBER_STATUSES, transferred_out_on__isnull=True)
                    | Q(pk__in=current)  # someone already on the record may stay on it
                )
            }
        for field, value in wanted.items():
            member = found.get(int(value)) if str(value).isdigit() else None
            if member is None:
                errors.setdefault(field, []).append("请选择本支部的党员。")
            else:
                people[field] = member
        if errors:
            raise ValidationError(errors)
        for field, member in people.items():
            setattr(meeting, field, member)
        for field, value in (
            ("lecturer_name", lecturer_name),
            ("minutes", minutes),
            ("decisions", decisions),
            ("topics", topics),
            ("unplanned_reason", unplanned_reason),
            ("title", title),
            ("place", place),
        ):
            if value is not None:
                value = value.strip()
                if field == "title" and not value:
                    raise ValidationError({"title": ["请填写会议名称或议题。"]})
                setattr(
                    meeting,
                    field,
                    value[:300] if field in ("lecturer_name", "unplanned_reason") else value,
                )
        _set_guests(meeting, guests)
        _refresh_counters(meeting)
        if votes is None and attendance is not None:
            votes = _current_votes(meeting)  # denominators follow the attendance
        if votes is not None:
            _apply_votes(meeting, votes)
        if meeting.state == MeetingState.PLANNED:
            meeting.state = MeetingState.RECORDED
        if meeting.recorded_at is None and meeting.minutes.strip():
            # 补录 is measured from when the minutes are first written (or the submission),
            # not from an attendance tap that anyone could make on the day
            meeting.recorded_at = timezone.now()
        meeting.roster_count = roster(meeting.branch, meeting.party_group).count()
        _update_similarity(meeting)
        meeting.save()
        flags_refresh(meeting=meeting)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        verb="meeting_revise" if was_locked else "meeting_record",
        reason=reason or "",
        changes={"version": [version_before, meeting.version]}
        if meeting.version != version_before
        else {},
    )
    _emit(meeting.pk, "revised" if was_locked else "recorded")
    return meeting


def _apply_attendance(meeting: Meeting, entries: Iterable[dict], errors: dict) -> None:
    rows = {a.member_id: a for a in meeting.attendances.all()}
    new_ids = []
    parsed = []
    for entry in entries:
        try:
            member_id = int(entry.get("member_id") or entry.get("member"))
        except (TypeError, ValueError):
            errors.setdefault("attendance", []).append("党员编号无效。")
            continue
        status = entry.get("status") or AttendanceStatus.UNKNOWN
        if status not in AttendanceStatus.values:
            errors.setdefault("attendance", []).append(f"出席情况无效：{status}")
            continue
        reason = (entry.get("reason") or "").strip()
        if status == AttendanceStatus.LEAVE and not reason:
            errors.setdefault("attendance", []).append("请假须填写原因。")
        excluded = bool(
            entry.get(
                "excluded_from_expected",
                rows[member_id].excluded_from_expected if member_id in rows else False,
            )
        )
        basis = (
            entry.get("exclusion_basis")
            if "exclusion_basis" in entry
            else (rows[member_id].exclusion_basis if member_id in rows else "")
        ) or ""
        why = (
            entry.get("exclusion_reason")
            if "exclusion_reason" in entry
            else (rows[member_id].exclusion_reason if member_id in rows else "")
        ) or ""
        if excluded and why not in ExclusionReason.values:
            errors.setdefault("attendance", []).append(
                "不计入应到会人数只限党内规定的六种情形，请选择其一"
                "（如长期患病不能自理、自费出国半年以上）。"
            )
        if excluded and not basis.strip():
            errors.setdefault("attendance", []).append(
                "不计入应到会人数须注明经上级同意并经党员大会通过的依据。"
            )
        if not excluded:
            why, basis = "", ""
        if member_id not in rows:
            new_ids.append(member_id)
        parsed.append((member_id, status, reason, excluded, why, basis.strip()))
    if new_ids:
        try:
            added = _branch_members(meeting.branch, new_ids)
        except ValidationError as exc:
            errors.setdefault("attendance", []).extend(exc.messages)
            added = []
        for m in added:
            rows[m.pk] = Attendance(meeting=meeting, member=m, has_vote=m.has_vote)
    if errors:
        return
    to_create, to_update = [], []
    for member_id, status, reason, excluded, why, basis in parsed:
        row = rows[member_id]
        row.status, row.reason, row.excluded_from_expected = status, reason[:200], excluded
        row.exclusion_reason, row.exclusion_basis = why, basis[:300]
        (to_update if row.pk else to_create).append(row)
    Attendance.objects.bulk_create(to_create)
    _attendance_update(to_update)


def _attendance_update(rows: list[Attendance]) -> None:
    """One `UPDATE … FROM (VALUES …)` for the changed rows (Django's bulk_update builds a CASE
    per field and row, which cost more than the rest of recording a 30-person meeting)."""
    if not rows:
        return
    values, params = [], []
    for a in sorted(rows, key=lambda r: r.pk):  # a fixed lock order
        values.append("(%s, %s, %s, %s::boolean, %s, %s)")
        params += [
            a.pk,
            a.status,
            a.reason,
            a.excluded_from_expected,
            a.exclusion_reason,
            a.exclusion_basis,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Attendance._meta.db_table} AS a SET status = v.status, reason = v.reason,
                excluded_from_expected = v.excluded, exclusion_reason = v.why,
                exclusion_basis = v.basis
            FROM (VALUES {", ".join(values)}) AS v(id, status, reason, excluded, why, basis)
            WHERE a.id = v.id::bigint
            """,
            params,
        )


def vote_input(v: VoteItem) -> dict:
    """A recorded vote as the input row the record service takes (to re-send it unchanged)."""
    return {
        "kind": v.kind,
        "title": v.title,
        "yes": v.yes,
        "no": v.no,
        "abstain": v.abstain,
        "contest": v.contest,
        "seats": v.seats,
    }


def _current_votes(meeting: Meeting) -> list[dict] | None:
    """The meeting's recorded votes as input rows (None when there are none)."""
    rows = [vote_input(v) for v in meeting.votes.all()]
    return rows or None


@transaction.atomic
def meeting_attendees(
    *,
    actor,
    meeting: Meeting,
    add_ids: Iterable[int] = (),
    remove_ids: Iterable[int] = (),
    guests: Iterable[dict] | None = None,
    exclude: Iterable[dict] = (),
    include_ids: Iterable[int] = (),
    reason: str = "",
) -> Meeting:
    """Edit who is expected at a meeting: add party members (预备/正式) of the branch, remove
    expected attendees, replace the invited non-members (列席), leave attendees out of the
    expected count (`exclude`: member_id, exclusion_reason — one of the six situations of
    DOMAIN §1.4 — and exclusion_basis, the approval) or count them again (`include_ids`).
    Counters, votes and rollups follow in the same transaction; on a submitted record this
    makes a new version (`reason` needed)."""
    meeting = _lock(meeting)
    was_locked = meeting.state in LOCKED_STATES
    version_before = meeting.version
    try:
        add = {int(i) for i in add_ids}
        remove = {int(i) for i in remove_ids}
    except (TypeError, ValueError):
        raise ValidationError({"attendees": ["党员编号无效。"]}) from None
    if add & remove:
        raise ValidationError({"attendees": ["同一人不能同时添加和移除。"]})
    with _rollup_guard(meeting):
        _begin_edit(meeting, actor=actor, reason=reason)
        current = set(meeting.attendances.values_list("member_id", flat=True))
        unknown = remove - current
        if unknown:
            raise ValidationError({"attendees": ["要移除的人员不在应到名单中。"]})
        add -= current
        added = []
        if add:
            added = list(Member.objects.party_members().filter(branch=meeting.branch, pk__in=add))
            if len(added) != len(add):
                raise ValidationError(
                    {
                        "attendees": [
                            "只能添加本支部的党员（预备党员、正式党员）；其他人员请作为列席人员登记。"
                        ]
                    }
                )
        if remove:
            meeting.attendances.filter(member_id__in=remove).delete()
        Attendance.objects.bulk_create(
            [Attendance(meeting=meeting, member=m, has_vote=m.has_vote) for m in added]
        )
        _apply_exclusions(meeting, exclude, include_ids)
        _set_guests(meeting, guests)
        _refresh_counters(meeting)
        votes = _current_votes(meeting)
        if votes is not None:
            _apply_votes(meeting, votes)
        meeting.save()
        if meeting.state != MeetingState.PLANNED:
            flags_refresh(meeting=meeting)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        verb="meeting_attendees",
        reason=reason or "",
        changes={
            "added": [None, sorted(m.pk for m in added)],
            "removed": [sorted(remove), None],
            "excluded": [None, sorted(int(e["member_id"]) for e in exclude)],
            "included": [sorted(int(i) for i in include_ids), None],
            **(
                {"version": [version_before, meeting.version]}
                if meeting.version != version_before
                else {}
            ),
        },
    )
    _emit(meeting.pk, "revised" if was_locked else "attendees")
    return meeting


def _apply_exclusions(meeting: Meeting, exclude: Iterable[dict], include_ids: Iterable) -> None:
    rows = {a.member_id: a for a in meeting.attendances.all()}
    changed, errors = {}, []
    try:
        include = {int(i) for i in include_ids}
        exclude = [dict(e, member_id=int(e.get("member_id"))) for e in exclude]
    except (TypeError, ValueError):
        raise ValidationError({"attendees": ["党员编号无效。"]}) from None
    for member_id in include:
        row = rows.get(member_id)
        if row is None:
            errors.append("要恢复计入的人员不在应到名单中。")
            continue
        row.excluded_from_expected, row.exclusion_reason, row.exclusion_basis = False, "", ""
        changed[member_id] = row
    for e in exclude:
        row = rows.get(e["member_id"])
        if row is None or e["member_id"] in include:
            errors.append("要标记不计入的人员不在应到名单中。")
            continue
        why = e.get("exclusion_reason") or ""
        basis = (e.get("exclusion_basis") or "").strip()
        if why not in ExclusionReason.values:
            errors.append(
                f"{row.member.name}：不计入应到会人数只限党内规定的六种情形，请选择其一。"
            )
        if not basis:
            errors.append(f"{row.member.name}：请注明经上级同意并经党员大会通过的依据。")
        row.excluded_from_expected, row.exclusion_reason, row.exclusion_basis = (
            True,
            why,
            basis[:300],
        )
        changed[e["member_id"]] = row
    if errors:
        raise ValidationError({"attendees": errors})
    if changed:
        Attendance.objects.bulk_update(
            list(changed.values()),
            ["excluded_from_expected", "exclusion_reason", "exclusion_basis"],
        )


def voting_counts(meeting: Meeting) -> tuple[int, int]:
    """(expected voting members, present voting members): 预备党员 have no vote; members excluded
    per DOMAIN §1.4 leave the denominator."""
    rows = meeting.attendances.filter(has_vote=True, excluded_from_expected=False).values_list(
        "status", flat=True
    )
    statuses = list(rows)
    return len(statuses), sum(1 for s in statuses if s in PRESENT_STATUSES)


def _apply_votes(meeting: Meeting, votes: Iterable[dict]) -> None:
    """Replace the meeting's votes. Resolutions are judged one by one (DOMAIN §2.1); election
    candidates are judged per contest (`contest`, `seats`): 差额 margin, 4/5 present, more than
    half of those present, top votes up to the seats, ties at the cut-off need a further round."""
    votes = list(votes)
    if votes and MeetingKind.GENERAL not in meeting.kinds:
        raise ValidationError({"votes": ["只有支部党员大会可以表决或选举。"]})
    expected, present = voting_counts(meeting)
    meeting.votes.all().delete()
    items: list[VoteItem] = []
    contests: dict[str, list[VoteItem]] = {}
    for v in votes:
        title = (v.get("title") or "").strip()
        if not title:
            raise ValidationError({"votes": ["请填写表决事项或候选人。"]})
        kind = v.get("kind") or VoteKind.RESOLUTION
        if kind not in VoteKind.values:
            raise ValidationError({"votes": [f"表决类型无效：{kind}"]})
        try:
            yes, no, abstain = (
                int(v.get("yes") or 0),
                int(v.get("no") or 0),
                int(v.get("abstain") or 0),
            )
            seats = int(v.get("seats") or 0)
        except (TypeError, ValueError):
            raise ValidationError({"votes": ["票数和应选人数须为整数。"]}) from None
        rules.check_ballot_counts(yes=yes, no=no, abstain=abstain, present_voting=present)
        item = VoteItem(
            meeting=meeting,
            kind=kind,
            title=title[:200],
            yes=yes,
            no=no,
            abstain=abstain,
            expected_voting=expected,
            present_voting=present,
        )
        if kind == VoteKind.ELECTION:
            item.contest = (v.get("contest") or "").strip()[:100]
            item.seats = seats
            contests.setdefault(item.contest, []).append(item)
        else:
            outcome = rules.resolution_outcome(
                expected_voting=expected, present_voting=present, yes=yes
            )
            item.quorum_met, item.passed = outcome.quorum_met, outcome.passed
        items.append(item)
    for contest, candidates in contests.items():
        seats = {c.seats for c in candidates}
        where = f"“{contest}”" if contest else ""
        if len(seats) != 1:
            raise ValidationError({"votes": [f"同一选举{where}的候选人应选人数须一致。"]})
        (n,) = seats
        names = [c.title for c in candidates]
        if len(set(names)) != len(names):
            raise ValidationError({"votes": [f"选举{where}中候选人重复。"]})
        rules.check_candidate_margin(candidates=len(candidates), seats=n, contest=contest)
        if sum(c.yes for c in candidates) > present * n:
            raise ValidationError(
                {
                    "votes": [
                        f"选举{where}赞成票合计超过实到会有选举权党员{present}人×应选{n}名，"
                        "每张选票所选人数不能多于应选人数。"
                    ]
                }
            )
        results = rules.election_results(
            expected_voting=expected,
            present_voting=present,
            seats=n,
            candidates=[(c.title, c.yes) for c in candidates],
        )
        for c, r in zip(candidates, results, strict=True):
            c.quorum_met, c.passed, c.runoff = r.quorum_met, r.elected, r.runoff
    VoteItem.objects.bulk_create(items)


# --- 民主评议 and 组织生活会 ---------------------------------------------------------------------


@transaction.atomic
def appraisal_record(
    *, actor, meeting: Meeting, grades: Iterable[dict], reason: str = ""
) -> list[Appraisal]:
    """民主评议: one grade per member; 预备党员 take part without a grade; 优秀 ≤ 1/3 of those graded."""
    meeting = _lock(meeting)
    if MeetingKind.APPRAISAL not in meeting.kinds:
        raise ValidationError({"appraisals": ["该会议不是民主评议党员会议。"]})
    _begin_edit(meeting, actor=actor, reason=reason)
    entries = list(grades)
    members = {
        m.pk: m for m in _branch_members(meeting.branch, [e.get("member_id") for e in entries])
    }
    rows, errors = [], []
    for e in entries:
        member = members[int(e["member_id"])]
        grade = e.get("grade") or ""
        if grade and grade not in AppraisalGrade.values:
            errors.append(f"{member.name}：等次无效")
        elif member.status in PROBATIONARY_STATUSES and grade:
            errors.append(f"{member.name}是预备党员，参加评议但不评定等次。")
        elif member.status not in PROBATIONARY_STATUSES and not grade:
            errors.append(f"请为{member.name}评定等次。")
        rows.append(
            Appraisal(
                meeting=meeting, member=member, grade=grade, comment=(e.get("comment") or "")[:300]
            )
        )
    if errors:
        raise ValidationError({"appraisals": errors})
    rules.check_appraisal_grades([r.grade for r in rows], excellent=AppraisalGrade.EXCELLENT)
    meeting.appraisals.all().delete()
    Appraisal.objects.bulk_create(rows)
    meeting.save(update_fields=["version", "state", "reviewed_at", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        verb="appraisal_record",
        reason=reason,
        changes={"graded": [None, sum(1 for r in rows if r.grade)]},
    )
    return rows


@transaction.atomic
def criticism_record(
    *, actor, meeting: Meeting, notes: Iterable[dict], topics: str | None = None, reason: str = ""
) -> None:
    """组织生活会: topics and per-member 批评与自我批评 notes."""
    meeting = _lock(meeting)
    if MeetingKind.ORG_LIFE not in meeting.kinds:
        raise ValidationError({"criticism": ["该会议不是组织生活会。"]})
    _begin_edit(meeting, actor=actor, reason=reason)
    entries = list(notes)
    members = {
        m.pk: m for m in _branch_members(meeting.branch, [e.get("member_id") for e in entries])
    }
    meeting.criticism_notes.all().delete()
    CriticismNote.objects.bulk_create(
        [
            CriticismNote(
                meeting=meeting,
                member=members[int(e["member_id"])],
                self_criticism=(e.get("self_criticism") or "").strip(),
                criticism_received=(e.get("criticism_received") or "").strip(),
            )
            for e in entries
        ]
    )
    if topics is not None:
        meeting.topics = topics.strip()
    meeting.save(update_fields=["topics", "version", "state", "reviewed_at", "updated_at"])
    audit_log(
        actor=actor, action=AuditAction.UPDATE, obj=meeting, verb="criticism_record", reason=reason
    )


# --- submit and review ----------------------------------------------------------------------------


@transaction.atomic
def meeting_submit(*, actor, meeting: Meeting) -> Meeting:
    """Report the record to the superior; it then counts toward compliance and is locked."""
    meeting = _lock(meeting)
    if meeting.state not in (MeetingState.RECORDED, MeetingState.RETURNED):
        raise ValidationError({"state": [f"当前状态（{meeting.get_state_display()}）不能报送。"]})
    errors: dict[str, list[str]] = {}
    if meeting.starts_at > timezone.now():
        errors.setdefault("starts_at", []).append("会议尚未召开，不能报送。")
    talk = is_talk_only(meeting)  # a lighter record: participants, what was talked about
    if meeting.host_id is None and not talk:
        errors.setdefault("host", []).append("请填写主持人。")
    if meeting.recorder_id is None and not talk:
        errors.setdefault("recorder", []).append("请填写记录人。")
    if not meeting.minutes.strip() and not talk:
        errors.setdefault("minutes", []).append("请填写讨论发言要点。")
    try:
        if talk:
            rules.check_talk_participants(
                participants=meeting.present_count + meeting.guests.count()
            )
        if MeetingKind.COMMITTEE in meeting.kinds:
            committee = set(committee_roster(meeting.branch).values_list("pk", flat=True))
            if committee:
                present = meeting.attendances.filter(
                    member_id__in=committee, status__in=PRESENT_STATUSES
                ).count()
            else:  # no committee registered: the expected attendees are taken as the committee
                present = meeting.present_count
            rules.check_committee_quorum(
                committee=len(committee) or meeting.expected_count, present=present
            )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if (
        MeetingKind.LECTURE in meeting.kinds
        and meeting.lecturer_id is None
        and not meeting.lecturer_name
    ):
        errors.setdefault("lecturer", []).append("党课请填写授课人。")
    if meeting.attendances.filter(status=AttendanceStatus.UNKNOWN).exists():
        errors.setdefault("attendance", []).append("还有人员未登记出席情况。")
    if errors:
        raise ValidationError(errors)
    with _rollup_guard(meeting):
        meeting.state = MeetingState.SUBMITTED
        meeting.submitted_at = timezone.now()
        if meeting.recorded_at is None:  # e.g. a 谈心谈话 without notes
            meeting.recorded_at = meeting.submitted_at
        meeting.save(update_fields=["state", "submitted_at", "recorded_at", "updated_at"])
        flags_refresh(meeting=meeting)
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=meeting, verb="meeting_submit")
    _emit(meeting.pk, "submitted")
    return meeting


@transaction.atomic
def meeting_accept(*, actor, meeting: Meeting, comment: str = "") -> Meeting:
    meeting = _lock(meeting)
    if meeting.state != MeetingState.SUBMITTED:
        raise ValidationError({"state": ["只有已报送的记录可以审核通过。"]})
    with _rollup_guard(meeting):
        meeting.state = MeetingState.ACCEPTED
        meeting.reviewed_at, meeting.reviewed_by, meeting.review_comment = (
            timezone.now(),
            actor,
            (comment or "")[:500],
        )
        meeting.save(
            update_fields=["state", "reviewed_at", "reviewed_by", "review_comment", "updated_at"]
        )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=meeting,
        verb="meeting_accept",
        reason=comment or "",
    )
    _emit(meeting.pk, "accepted")
    return meeting


@transaction.atomic
def meeting_return(*, actor, meeting: Meeting, comment: str) -> Meeting:
    """退回: the record leaves the counts until it is corrected and submitted again."""
    meeting = _lock(meeting)
    if meeting.state == MeetingState.ACCEPTED:
        raise ValidationError(
            {"state": ["记录已审核通过，不能退回；如需更正，由支部填写修改原因后生成新版本。"]}
        )
    if meeting.state != MeetingState.SUBMITTED:
        raise ValidationError({"state": ["只有已报送的记录可以退回。"]})
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": ["退回须填写意见。"]})
    with _rollup_guard(meeting):
        meeting.state = MeetingState.RETURNED
        meeting.reviewed_at, meeting.reviewed_by, meeting.review_comment = (
            timezone.now(),
            actor,
            comment[:500],
        )
        meeting.save(
            update_fields=["state", "reviewed_at", "reviewed_by", "review_comment", "updated_at"]
        )
    audit_log(
        actor=actor, action=AuditAction.UPDATE, obj=meeting, verb="meeting_return", reason=comment
    )
    _emit(meeting.pk, "returned")
    return meeting


# --- attachments ------------------------------------------------------------------------------------


@transaction.atomic
def attachment_add(
    *, actor, meeting: Meeting, upload, kind: str = AttachmentKind.OTHER
) -> MeetingAttachment:
    meeting = _lock(meeting)
    _require_unlocked(meeting, "添加附件")
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": ["附件类型无效。"]})
    name = getattr(upload, "name", "") or ""
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    content_type = ALLOWED_UPLOADS.get(ext)
    if content_type is None:
        raise ValidationError({"file": ["只能上传 JPG、PNG、WEBP 图片或 PDF 文件。"]})
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"文件不能超过{MAX_UPLOAD_BYTES // 1024 // 1024}MB。"]})
    if upload.size == 0:
        raise ValidationError({"file": ["文件为空。"]})
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(m) for m in MAGIC[content_type]):
        raise ValidationError({"file": ["文件内容与扩展名不符。"]})
    safe = f"{timezone.now():%Y%m%d%H%M%S}{ext}"
    att = MeetingAttachment(
        meeting=meeting,
        kind=kind,
        original_name=name[:200],
        content_type=content_type,
        size=upload.size,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    att.file.save(safe, upload, save=False)
    att.save()
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=meeting,
        verb="attachment_add",
        changes={"file": [None, name]},
    )
    return att


@transaction.atomic
def attachment_delete(*, actor, attachment: MeetingAttachment) -> None:
    meeting = _lock(attachment.meeting)
    _require_unlocked(meeting, "删除附件")
    name = attachment.original_name
    attachment.file.delete(save=False)
    attachment.delete()
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=meeting,
        verb="attachment_delete",
        changes={"file": [name, None]},
    )


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# --- exemptions ---------------------------------------------------------------------------------------


@transaction.atomic
def exemption_grant(
    *, actor, branch: Org, period_key: str, reason: str, kind: str = ""
) -> Exemption:
    from apps.core.periods import Period

    try:
        period = Period.parse(period_key)
    except ValueError as exc:
        raise ValidationError({"period_key": [str(exc)]}) from None
    if kind and kind not in MeetingKind.values:
        raise ValidationError({"kind": ["会议类型无效。"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写免于考核的原因。"]})
    if branch.org_type not in BRANCH_TYPES:
        raise ValidationError({"branch": ["免于考核只能针对党支部。"]})
    if Exemption.objects.filter(branch=branch, kind=kind, period_key=period.key).exists():
        raise ValidationError({"period_key": ["该支部在该期间已有相同的免于考核记录。"]})
    exemption = Exemption.objects.create(
        branch=branch,
        kind=kind,
        period_key=period.key,
        reason=reason.strip()[:300],
        approved_by=actor,
        approved_on=local_date(timezone.now()),
    )
    _mark_dirty_for(period.key)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=exemption,
        org=branch,
        verb="exemption_grant",
        reason=reason,
    )
    return exemption


def _mark_dirty_for(period_key: str) -> None:
    from apps.core.periods import Period
    from apps.meetings.models import RollupDirty

    period = Period.parse(period_key)  # the tree rollup is kept per quarter and per year
    for key in sorted({str(period.year), *(q.key for q in period.quarters())}):
        RollupDirty.objects.get_or_create(period_key=key)


@transaction.atomic
def exemption_revoke(*, actor, exemption: Exemption, reason: str) -> None:
    """Withdraw an exemption granted by mistake (reason required); compliance is recomputed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写撤销原因。"]})
    branch = exemption.branch
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=exemption,
        org=branch,
        verb="exemption_revoke",
        reason=reason,
    )
    key = exemption.period_key
    exemption.delete()
    _mark_dirty_for(key)


# --- 纸上党建 flags ----------------------------------------------------------------------------------


def _update_similarity(meeting: Meeting) -> None:
    sig = similarity.signature(meeting.minutes)
    meeting.minutes_signature = sig
    meeting.minutes_bands = similarity.bands(sig) if sig else []


def similar_meetings(meeting: Meeting, *, limit: int = 5) -> list[tuple[Meeting, float]]:
    """Meetings whose minutes are nearly identical (LSH candidates from the GIN index, then the
    MinHash estimate)."""
    if not meeting.minutes_bands:
        return []
    threshold = int(rule_value("meetings.similarity_threshold")) / 100
    candidates = (
        Meeting.objects.filter(minutes_bands__overlap=meeting.minutes_bands)
        .exclude(pk=meeting.pk)
        .only("id", "title", "branch_id", "starts_at", "minutes_signature")[:200]
    )
    scored = [
        (c, similarity.estimate(meeting.minutes_signature, c.minutes_signature)) for c in candidates
    ]
    scored = [(c, s) for c, s in scored if s >= threshold]
    scored.sort(key=lambda cs: (-cs[1], cs[0].pk))
    return scored[:limit]


def flags_refresh(*, meeting: Meeting) -> list[MeetingFlag]:
    """Recompute a meeting's 纸上党建 flags (called by the record service)."""
    meeting.flags.all().delete()
    flags = []
    for other, score in similar_meetings(meeting, limit=3):
        where = "本支部" if other.branch_id == meeting.branch_id else "其他支部"
        flags.append(
            MeetingFlag(
                meeting=meeting,
                code=FlagCode.SIMILAR_MINUTES,
                other=other,
                detail=f"与{where}{local_date(other.starts_at):%Y-%m-%d}的会议记录相似度约{score:.0%}",
            )
        )
    if meeting.recorded_at:
        days = (local_date(meeting.recorded_at) - local_date(meeting.ends_at)).days
        limit = int(rule_value("meetings.late_entry_days"))
        if days > limit:
            flags.append(
                MeetingFlag(
                    meeting=meeting,
                    code=FlagCode.LATE_ENTRY,
                    detail=f"会后第{days}天才录入（时限{limit}天）",
                )
            )
    if meeting.present_count > meeting.roster_count:
        flags.append(
            MeetingFlag(
                meeting=meeting,
                code=FlagCode.OVER_ROSTER,
                detail=f"实到{meeting.present_count}人，支部党员{meeting.roster_count}人",
            )
        )
    if meeting.planned_at is None and not meeting.unplanned_reason.strip():
        flags.append(
            MeetingFlag(
                meeting=meeting, code=FlagCode.UNPLANNED, detail="会议未事先列入计划，也未说明原因"
            )
        )
    MeetingFlag.objects.bulk_create(flags)
    return flags


__all__ = [
    name
    for name in dir()
    if name.startswith(
        ("meeting_", "appraisal_", "criticism_", "attachment_", "exemption_", "flags_")
    )
]
_ = COUNTED_STATES
