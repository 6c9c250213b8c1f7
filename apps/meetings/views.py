"""Pages: the branch month calendar, the secretary flow (plan → record → submit) on a phone,
the printable 会议记录, the superiors' review list and the compliance table. Each view:
authorize → validate → one service → render/redirect."""

from __future__ import annotations

import calendar
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.forms import apply_errors
from apps.accounts.scope import (
    can,
    get_scoped_or_404,
    orgs_visible_to,
    require,
    require_capability,
    scope_of,
)
from apps.core.periods import Period, PeriodKind, local_date, local_today
from apps.meetings import rules, selectors, services
from apps.meetings.api import org_for
from apps.meetings.forms import (
    AttachmentForm,
    ElectionForm,
    ExemptionForm,
    PlanForm,
    RecordForm,
    ReviewForm,
    VoteForm,
)
from apps.meetings.models import (
    LOCKED_STATES,
    AppraisalGrade,
    AttendanceStatus,
    ExclusionReason,
    Exemption,
    FlagCode,
    MeetingKind,
    MeetingState,
)
from apps.organizations.models import BRANCH_TYPES, Org, OrgType

WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"]


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def _default_branch(user) -> Org | None:
    return (
        orgs_visible_to(user)
        .filter(org_type__in=BRANCH_TYPES, abolished_on__isnull=True)
        .order_by("path")
        .first()
    )


def _month_param(request) -> Period:
    try:
        month = Period.parse(request.GET.get("month", ""))
        if month.kind != PeriodKind.MONTH:
            raise ValueError
        return month
    except ValueError:
        return Period.current(PeriodKind.MONTH)


@login_required
def calendar_view(request: HttpRequest) -> HttpResponse:
    """Month calendar of one branch: held, planned, due and overdue items. An ordinary member
    (`self` scope only) goes to their own meetings instead."""
    scope = scope_of(request.user)
    if not scope.has("view") and scope.has("self"):
        return redirect(f"{reverse('meetings:mine')}?{request.GET.urlencode()}")
    require_capability(request.user, "view")
    branch = (
        org_for(request.user, request.GET["branch"])
        if request.GET.get("branch")
        else _default_branch(request.user)
    )
    if branch is None:
        return render(request, "meetings/calendar.html", {"branch": None})
    if not branch.is_branch:
        return redirect(f"{reverse('meetings:compliance')}?org={branch.pk}")
    month = _month_param(request)
    today = local_today()
    meetings = selectors.meetings_in_month(branch, month)
    by_day: dict[dt.date, list] = {}
    for m in meetings:
        by_day.setdefault(local_date(m.starts_at), []).append(m)
    weeks = []
    for week in calendar.Calendar().monthdatescalendar(month.year, month.index):
        weeks.append(
            [
                {
                    "day": d,
                    "in_month": d.month == month.index,
                    "today": d == today,
                    "meetings": by_day.get(d, []),
                }
                for d in week
            ]
        )
    quarter = Period.containing(PeriodKind.QUARTER, month.start)
    compliance = selectors.compliance_for_branch(branch, quarter, today=today)
    year = selectors.compliance_for_branch(branch, Period.year_of(month.year), today=today)
    yearly = [r for r in year.results if r.period == "year"]
    items = [r for r in compliance.results if r.period != "year"] + yearly
    branches = list(
        orgs_visible_to(request.user)
        .filter(org_type__in=BRANCH_TYPES, abolished_on__isnull=True)
        .order_by("path")[:300]
    )
    return render(
        request,
        "meetings/calendar.html",
        {
            "branch": branch,
            "month": month,
            "weeks": weeks,
            "weekdays": WEEKDAYS,
            "meetings": meetings,
            "prev": month.previous(),
            "next": month.next(),
            "compliance": compliance,
            "items": items,
            "status_labels": rules.STATUS_LABELS,
            "can_write": can(request.user, "branch_write", branch),
            "branches": branches,
            "today": today,
        },
    )


@login_required
def plan_view(request: HttpRequest) -> HttpResponse:
    branch = org_for(
        request.user, request.GET.get("branch") or request.POST.get("branch") or 0, "branch_write"
    )
    groups = list(
        Org.objects.filter(
            parent=branch, org_type=OrgType.PARTY_GROUP, abolished_on__isnull=True
        ).order_by("path")
    )
    initial = {}
    if request.GET.get("day"):
        initial["day"] = request.GET["day"]
    if request.GET.get("kind") in MeetingKind.values:
        initial["kinds"] = [request.GET["kind"]]
    form = PlanForm(request.POST or None, groups=groups, initial=initial)
    if request.method == "POST" and form.is_valid():
        starts_at, ends_at = form.starts_ends()
        group = next((g for g in groups if g.pk == form.cleaned_data["party_group"]), None)
        try:
            meeting = services.meeting_plan(
                actor=request.user,
                branch=branch,
                kinds=form.cleaned_data["kinds"],
                title=form.cleaned_data["title"],
                starts_at=starts_at,
                ends_at=ends_at,
                place=form.cleaned_data["place"],
                party_group=group,
                unplanned_reason=form.cleaned_data["unplanned_reason"],
            )
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error(None, message)
        else:
            messages.success(
                request,
                "会议已列入计划。" if meeting.planned_at else "会议已创建，请登记出席和记录。",
            )
            return redirect(
                "meetings:record" if meeting.planned_at is None else "meetings:detail",
                pk=meeting.pk,
            )
    return render(
        request,
        "meetings/plan.html",
        {"form": form, "branch": branch},
        status=400 if form.errors else 200,
    )


def _record_context(request, meeting, form=None, vote_form=None, errors=(), election_form=None):
    meeting = selectors.meeting_detail(meeting)
    members = [a.member for a in meeting.attendances.all()]
    locked = meeting.state in LOCKED_STATES
    form = form or RecordForm(
        members=members,
        locked=locked,
        initial={
            "host": meeting.host_id,
            "recorder": meeting.recorder_id,
            "lecturer": meeting.lecturer_id,
            "lecturer_name": meeting.lecturer_name,
            "minutes": meeting.minutes,
            "decisions": meeting.decisions,
            "topics": meeting.topics,
            "unplanned_reason": meeting.unplanned_reason,
        },
        org_life=MeetingKind.ORG_LIFE in meeting.kinds,
        talk=services.is_talk_only(meeting),
    )
    return {
        "meeting": meeting,
        "form": form,
        "vote_form": vote_form or VoteForm(),
        "election_form": election_form or ElectionForm(),
        "contests": selectors.election_contests(meeting),
        "locked": locked,
        "statuses": [(s.value, s.label) for s in AttendanceStatus if s != AttendanceStatus.UNKNOWN],
        "is_general": MeetingKind.GENERAL in meeting.kinds,
        "is_lecture": MeetingKind.LECTURE in meeting.kinds,
        "is_talk": services.is_talk_only(meeting),
        "errors": errors,
        "attachment_form": AttachmentForm(),
        "flags": selectors.flags_for_viewer(request.user, meeting),
        **_sheet_context(meeting),
    }


def _sheet_context(
    meeting, *, sheet=None, appraisal_errors=(), criticism_errors=(), saved=""
) -> dict:
    """Context of the 民主评议 and 批评与自我批评 fragments (`meeting` from meeting_detail)."""
    return {
        "meeting": meeting,
        "locked": meeting.state in LOCKED_STATES,
        "sheet": sheet if sheet is not None else selectors.meeting_sheet(meeting),
        "is_appraisal": MeetingKind.APPRAISAL in meeting.kinds,
        "is_org_life": MeetingKind.ORG_LIFE in meeting.kinds,
        "grades": AppraisalGrade.choices,
        "appraisal_errors": appraisal_errors,
        "criticism_errors": criticism_errors,
        "saved": saved,
    }


@login_required
def record_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretary's record page: attendance taps (HTMX), host/recorder, minutes, votes."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    if request.method == "POST":
        members = [a.member for a in meeting.attendances.select_related("member")]
        form = RecordForm(
            request.POST,
            members=members,
            locked=meeting.state in LOCKED_STATES,
            org_life=MeetingKind.ORG_LIFE in meeting.kinds,
            talk=services.is_talk_only(meeting),
        )
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.meeting_record(
                    actor=request.user,
                    meeting=meeting,
                    host_id=d["host"],
                    recorder_id=d["recorder"],
                    lecturer_id=d.get("lecturer"),
                    lecturer_name=d.get("lecturer_name"),
                    minutes=d["minutes"],
                    decisions=d.get("decisions"),
                    topics=d.get("topics"),
                    unplanned_reason=d["unplanned_reason"],
                    reason=d.get("reason") or request.POST.get("edit_reason", ""),
                )
            except ValidationError as exc:
                return render(
                    request,
                    "meetings/record.html",
                    _record_context(request, meeting, form, errors=_errors(exc)),
                    status=400,
                )
            messages.success(request, "记录已保存。")
            return redirect("meetings:record", pk=meeting.pk)
        return render(
            request, "meetings/record.html", _record_context(request, meeting, form), status=400
        )
    return render(request, "meetings/record.html", _record_context(request, meeting))


def _attendees_context(meeting, errors=(), form_values=None):
    meeting = selectors.meeting_detail(meeting)
    on_list = {a.member_id for a in meeting.attendances.all()}
    groups = list(
        Org.objects.filter(
            parent=meeting.branch, org_type=OrgType.PARTY_GROUP, abolished_on__isnull=True
        ).order_by("path")
    )
    candidates = [m for m in services.roster(meeting.branch) if m.pk not in on_list]
    names = {g.pk: g.name for g in groups}
    for person in [*(a.member for a in meeting.attendances.all()), *candidates]:
        person.group_name = names.get(person.party_group_id, "")
    return {
        "meeting": meeting,
        "locked": meeting.state in LOCKED_STATES,
        "candidates": candidates,
        "groups": groups,
        "exclusion_reasons": ExclusionReason.choices,
        "errors": errors,
        "values": form_values or {},
    }


@login_required
def attendees_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretary edits who is expected (add from the roster or a party group, remove),
    invited non-members (列席), and who is left out of the expected count (DOMAIN §1.4)."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    if request.method != "POST":
        return render(request, "meetings/attendees.html", _attendees_context(meeting))
    action = request.POST.get("action", "")
    kwargs: dict = {"reason": request.POST.get("edit_reason", "")}
    p = request.POST
    if action == "add":
        kwargs["add_ids"] = p.getlist("member")
    elif action == "add_group":
        group = Org.objects.filter(
            pk=p.get("group") if (p.get("group") or "").isdigit() else 0,
            parent=meeting.branch,
            org_type=OrgType.PARTY_GROUP,
        ).first()
        if group is None:
            raise Http404("未找到。")
        on_list = set(meeting.attendances.values_list("member_id", flat=True))
        kwargs["add_ids"] = [
            m.pk for m in services.roster(meeting.branch, group) if m.pk not in on_list
        ]
    elif action == "remove":
        kwargs["remove_ids"] = p.getlist("member")
    elif action == "exclude":
        kwargs["exclude"] = [
            {
                "member_id": p.get("member"),
                "exclusion_reason": p.get("exclusion_reason", ""),
                "exclusion_basis": p.get("exclusion_basis", ""),
            }
        ]
    elif action == "include":
        kwargs["include_ids"] = p.getlist("member")
    elif action == "guests":
        names, affs = p.getlist("guest_name"), p.getlist("guest_affiliation")
        kwargs["guests"] = [
            {"name": n, "affiliation": affs[i] if i < len(affs) else ""}
            for i, n in enumerate(names)
        ]
    else:
        return render(
            request,
            "meetings/attendees.html",
            _attendees_context(meeting, errors=["请选择要执行的操作。"]),
            status=400,
        )
    try:
        services.meeting_attendees(actor=request.user, meeting=meeting, **kwargs)
    except ValidationError as exc:
        return render(
            request,
            "meetings/attendees.html",
            _attendees_context(meeting, errors=_errors(exc), form_values=p),
            status=400,
        )
    messages.success(request, "应到人员已更新。")
    return redirect("meetings:attendees", pk=meeting.pk)


@login_required
@require_POST
def attendance_tap(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    """One tap on an attendance button (HTMX): saves that person's status, returns the row."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    status = request.POST.get("status", "")
    reason = request.headers.get("HX-Prompt") or request.POST.get("reason", "")
    error = ""
    try:
        if not meeting.attendances.filter(member_id=member_id).exists():
            raise Http404("未找到。")
        meeting = services.meeting_record(
            actor=request.user,
            meeting=meeting,
            reason=request.POST.get("edit_reason", ""),
            attendance=[{"member_id": member_id, "status": status, "reason": reason}],
        )
    except ValidationError as exc:
        error = "；".join(_errors(exc))
    row = meeting.attendances.select_related("member").get(member_id=member_id)
    response = render(
        request,
        "meetings/_attendance_row.html",
        {
            "meeting": meeting,
            "a": row,
            "error": error,
            "statuses": [
                (s.value, s.label) for s in AttendanceStatus if s != AttendanceStatus.UNKNOWN
            ],
        },
        status=400 if error else 200,
    )
    response["HX-Trigger"] = "attendance-changed"
    return response


def _sheet_response(request, meeting, template: str, **ctx) -> HttpResponse:
    """The fragment alone (HTMX, GET, or with errors); a plain form POST that saved goes back
    to the record page."""
    status = 400 if ctx.get("appraisal_errors") or ctx.get("criticism_errors") else 200
    if request.headers.get("HX-Request") or request.method == "GET" or status == 400:
        return render(request, template, _sheet_context(meeting, **ctx), status=status)
    messages.success(request, ctx.get("saved") or "已保存。")
    return redirect("meetings:record", pk=meeting.pk)


@login_required
def appraisals_view(request: HttpRequest, pk: int) -> HttpResponse:
    """民主评议 (HTMX fragment of the record page): one grade per member (优秀 at most 1/3 of
    those graded); 预备党员 take part but are not graded."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    if MeetingKind.APPRAISAL not in meeting.kinds:
        raise Http404("未找到。")
    detail = selectors.meeting_detail(meeting)
    if request.method != "POST":
        return _sheet_response(request, detail, "meetings/_appraisals.html")
    p = request.POST
    sheet = selectors.meeting_sheet(detail)
    for row in sheet:  # keep what was typed when the page comes back with errors
        row.grade = "" if row.probationary else p.get(f"grade_{row.member.pk}", "")
        row.comment = p.get(f"comment_{row.member.pk}", "").strip()
    try:
        services.appraisal_record(
            actor=request.user,
            meeting=meeting,
            grades=[
                {"member_id": r.member.pk, "grade": r.grade, "comment": r.comment} for r in sheet
            ],
            reason=p.get("reason", ""),
        )
    except ValidationError as exc:
        return _sheet_response(
            request, detail, "meetings/_appraisals.html", sheet=sheet, appraisal_errors=_errors(exc)
        )
    return _sheet_response(
        request,
        selectors.meeting_detail(meeting),
        "meetings/_appraisals.html",
        saved="民主评议结果已保存。",
    )


@login_required
def criticism_view(request: HttpRequest, pk: int) -> HttpResponse:
    """组织生活会 批评与自我批评 (HTMX fragment of the record page): per-member notes; the
    topics are on the record form."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    if MeetingKind.ORG_LIFE not in meeting.kinds:
        raise Http404("未找到。")
    detail = selectors.meeting_detail(meeting)
    if request.method != "POST":
        return _sheet_response(request, detail, "meetings/_criticism.html")
    p = request.POST
    sheet = selectors.meeting_sheet(detail)
    for row in sheet:
        row.self_criticism = p.get(f"self_{row.member.pk}", "").strip()
        row.criticism_received = p.get(f"received_{row.member.pk}", "").strip()
    try:
        services.criticism_record(
            actor=request.user,
            meeting=meeting,
            notes=[
                {
                    "member_id": r.member.pk,
                    "self_criticism": r.self_criticism,
                    "criticism_received": r.criticism_received,
                }
                for r in sheet
                if r.self_criticism or r.criticism_received
            ],
            topics=p.get("topics"),
            reason=p.get("reason", ""),
        )
    except ValidationError as exc:
        return _sheet_response(
            request, detail, "meetings/_criticism.html", sheet=sheet, criticism_errors=_errors(exc)
        )
    return _sheet_response(
        request,
        selectors.meeting_detail(meeting),
        "meetings/_criticism.html",
        saved="批评与自我批评已保存。",
    )


@login_required
def counters_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk)
    return render(request, "meetings/_counters.html", {"meeting": meeting})


@login_required
@require_POST
def vote_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    form = VoteForm(request.POST)
    if form.is_valid():
        votes = [services.vote_input(v) for v in meeting.votes.all()] + [
            {**form.cleaned_data, "kind": "resolution"}
        ]
        try:
            services.meeting_record(
                actor=request.user,
                meeting=meeting,
                votes=votes,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as exc:
            return render(
                request,
                "meetings/record.html",
                _record_context(request, meeting, vote_form=form, errors=_errors(exc)),
                status=400,
            )
        messages.success(request, "表决情况已记录。")
        return redirect("meetings:record", pk=meeting.pk)
    return render(
        request,
        "meetings/record.html",
        _record_context(request, meeting, vote_form=form),
        status=400,
    )


@login_required
@require_POST
def election_add(request: HttpRequest, pk: int) -> HttpResponse:
    """One election contest at once (差额: every candidate with their votes); it replaces the
    earlier entry of the same contest."""
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    form = ElectionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        votes = [
            services.vote_input(v)
            for v in meeting.votes.all()
            if not (v.kind == "election" and v.contest == d["contest"])
        ] + [
            {"kind": "election", "contest": d["contest"], "seats": d["seats"], **c}
            for c in d["candidates"]
        ]
        try:
            services.meeting_record(
                actor=request.user,
                meeting=meeting,
                votes=votes,
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as exc:
            return render(
                request,
                "meetings/record.html",
                _record_context(request, meeting, election_form=form, errors=_errors(exc)),
                status=400,
            )
        messages.success(request, "选举结果已记录。")
        return redirect("meetings:record", pk=meeting.pk)
    return render(
        request,
        "meetings/record.html",
        _record_context(request, meeting, election_form=form),
        status=400,
    )


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(
                actor=request.user,
                meeting=meeting,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as exc:
            return render(
                request,
                "meetings/record.html",
                _record_context(request, meeting, errors=_errors(exc)),
                status=400,
            )
        messages.success(request, "附件已上传。")
        return redirect("meetings:record", pk=meeting.pk)
    return render(
        request,
        "meetings/record.html",
        _record_context(request, meeting, errors=["请选择要上传的文件。"]),
        status=400,
    )


@login_required
@require_POST
def submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    try:
        services.meeting_submit(actor=request.user, meeting=meeting)
    except ValidationError as exc:
        return render(
            request,
            "meetings/record.html",
            _record_context(request, meeting, errors=_errors(exc)),
            status=400,
        )
    messages.success(request, "已报送上级党组织。")
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def review_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk, "superior")
    form = ReviewForm(request.POST)
    form.is_valid()
    comment = form.cleaned_data.get("comment", "")
    try:
        if action == "accept":
            services.meeting_accept(actor=request.user, meeting=meeting, comment=comment)
            messages.success(request, "已审核通过。")
        else:
            services.meeting_return(actor=request.user, meeting=meeting, comment=comment)
            messages.success(request, "已退回。")
    except ValidationError as exc:
        ctx = _detail_context(request, meeting)
        ctx["errors"] = _errors(exc)
        return render(request, "meetings/detail.html", ctx, status=400)
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = selectors.meeting_for(request.user, pk, "branch_write")
    try:
        services.meeting_cancel(
            actor=request.user, meeting=meeting, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        ctx = _detail_context(request, meeting)
        ctx["errors"] = _errors(exc)
        return render(request, "meetings/detail.html", ctx, status=400)
    messages.success(request, "会议已取消。")
    return redirect(f"{reverse('meetings:calendar')}?branch={meeting.branch_id}")


def _detail_context(request, meeting):
    meeting = selectors.meeting_detail(meeting)
    return {
        "meeting": meeting,
        "can_write": can(request.user, "branch_write", meeting.branch),
        "can_review": can(request.user, "superior", meeting.branch),
        "review_form": ReviewForm(),
        "locked": meeting.state in LOCKED_STATES,
        "absent": [a for a in meeting.attendances.all() if a.status in ("leave", "absent")],
        "flags": selectors.flags_for_viewer(request.user, meeting),
    }


@login_required
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The meeting as a printable 会议记录; an expected attendee without the `view` scope sees
    it read-only with their own attendance only."""
    meeting, full = selectors.meeting_read(request.user, pk)
    if not full:
        return render(
            request,
            "meetings/detail_self.html",
            {
                "meeting": selectors.meeting_detail(meeting),
                "mine": selectors.own_attendance(meeting, request.user),
            },
        )
    return render(request, "meetings/detail.html", _detail_context(request, meeting))


@login_required
def mine_view(request: HttpRequest) -> HttpResponse:
    """An ordinary member's meetings: the month calendar of the meetings they are expected at,
    with their own attendance, and their attendance rate this year."""
    member = selectors.member_record_of(request.user)
    if member is None:
        raise Http404("未找到您的党员档案。")
    month = _month_param(request)
    today = local_today()
    rows = selectors.my_meetings(request.user, start=month.start_at, end=month.end_at)
    by_day: dict[dt.date, list] = {}
    for m, _a in rows:
        if m.state != MeetingState.CANCELLED:
            by_day.setdefault(local_date(m.starts_at), []).append(m)
    weeks = [
        [
            {
                "day": d,
                "in_month": d.month == month.index,
                "today": d == today,
                "meetings": by_day.get(d, []),
            }
            for d in week
        ]
        for week in calendar.Calendar().monthdatescalendar(month.year, month.index)
    ]
    year = Period.year_of(month.year)
    return render(
        request,
        "meetings/mine.html",
        {
            "member": member,
            "month": month,
            "weeks": weeks,
            "weekdays": WEEKDAYS,
            "rows": rows,
            "prev": month.previous(),
            "next": month.next(),
            "year": year,
            "rate": selectors.attendance_rate(period=year, member=member),
        },
    )


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    """Records across the user's subtree with filters (state, kind, flags, org)."""
    require_capability(request.user, "view")
    state = request.GET.get("state", MeetingState.SUBMITTED)
    if state not in MeetingState.values and state != "":
        state = MeetingState.SUBMITTED
    kind = request.GET.get("kind") if request.GET.get("kind") in MeetingKind.values else None
    flagged = {"1": True, "0": False}.get(request.GET.get("flagged", ""))
    org = org_for(request.user, request.GET["org"]) if request.GET.get("org") else None
    qs = selectors.review_queue(
        request.user, state=state or None, kind=kind, flagged=flagged, org=org
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/review.html",
        {
            "page": page,
            "state": state,
            "kind": kind or "",
            "flagged": request.GET.get("flagged", ""),
            "org": org,
            "states": MeetingState.choices,
            "kinds": MeetingKind.choices,
            "flag_codes": FlagCode,
            "query": request.GET.copy(),
        },
    )


@login_required
def compliance_view(request: HttpRequest) -> HttpResponse:
    """Subtree compliance: share of fully compliant branches per kind and overall, per child."""
    require_capability(request.user, "view")
    org = (
        org_for(request.user, request.GET["org"])
        if request.GET.get("org")
        else orgs_visible_to(request.user).order_by("path").first()
    )
    if org is None:
        raise Http404("未找到。")
    try:
        period = (
            Period.parse(request.GET.get("period", ""))
            if request.GET.get("period")
            else Period.current(PeriodKind.QUARTER)
        )
        if period.kind == PeriodKind.MONTH:
            period = Period.containing(PeriodKind.QUARTER, period.start)
    except ValueError:
        period = Period.current(PeriodKind.QUARTER)
    sub = selectors.compliance_for_subtree(org, period)
    kinds = [k for k in MeetingKind if sub.total and k.value in sub.total.per_kind]
    periods = [period.previous().previous(), period.previous(), period]
    return render(
        request,
        "meetings/compliance.html",
        {
            "org": org,
            "period": period,
            "sub": sub,
            "kinds": kinds,
            "periods": periods,
            "next": period.next() if period.start <= local_today() else None,
        },
    )


@login_required
def exemptions_view(request: HttpRequest) -> HttpResponse:
    """免于考核: the exemptions of the subtree (reason, approver) and, for the superior, a form
    to grant one for a branch and period."""
    require_capability(request.user, "view")
    src = request.POST if request.method == "POST" else request.GET
    org = (
        org_for(request.user, src["org"])
        if src.get("org")
        else orgs_visible_to(request.user).order_by("path").first()
    )
    if org is None:
        raise Http404("未找到。")
    period_key = request.GET.get("period", "")
    can_grant = can(request.user, "superior", org)
    branches = (
        list(
            orgs_visible_to(request.user, "superior")
            .filter(
                path__startswith=org.path,
                org_type__in=BRANCH_TYPES,
                abolished_on__isnull=True,
            )
            .order_by("path")[:501]
        )
        if can_grant
        else []
    )
    form = ExemptionForm(request.POST or None, branches=branches[:500])
    status = 200
    if request.method == "POST":
        if not can_grant:
            raise PermissionDenied("没有权限执行此操作。")
        if form.is_valid():
            d = form.cleaned_data
            branch = org_for(request.user, d["branch"], "superior")
            try:
                services.exemption_grant(
                    actor=request.user,
                    branch=branch,
                    period_key=d["period_key"].strip(),
                    kind=d["kind"],
                    reason=d["reason"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"已批准{branch.name}免于考核（{d['period_key']}）。")
                return redirect(f"{reverse('meetings:exemptions')}?org={org.pk}")
        status = 400
    qs = selectors.exemptions_visible_to(request.user, org=org, period_key=period_key)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    for e in page:
        e.can_revoke = can(request.user, "superior", e.branch)
    return render(
        request,
        "meetings/exemptions.html",
        {
            "org": org,
            "page": page,
            "form": form,
            "can_grant": can_grant,
            "too_many": len(branches) > 500,
            "period_key": period_key,
        },
        status=status,
    )


@login_required
@require_POST
def exemption_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    e = get_scoped_or_404(
        Exemption.objects.select_related("branch"),
        request.user,
        path_field="branch__path",
        pk=pk,
    )
    require(request.user, "superior", e.branch)
    try:
        services.exemption_revoke(
            actor=request.user, exemption=e, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(_errors(exc)))
    else:
        messages.success(request, "已撤销免于考核。")
    return redirect(
        f"{reverse('meetings:exemptions')}?org={request.POST.get('org') or e.branch_id}"
    )
