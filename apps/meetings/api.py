"""REST endpoints for meetings and compliance. Same services as the pages; scope through
apps.accounts.scope (outside the subtree: 404; visible without the capability: 403)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scope import (
    can,
    get_org_or_404,
    get_scoped_or_404,
    require,
    scope_of,
    scoped,
)
from apps.core.periods import Period, PeriodKind
from apps.meetings import selectors, services
from apps.meetings.models import (
    LOCKED_STATES,
    AppraisalGrade,
    AttachmentKind,
    AttendanceStatus,
    ExclusionReason,
    Exemption,
    Meeting,
    MeetingAttachment,
    MeetingKind,
    MeetingRequirement,
    MeetingState,
    VoteKind,
)
from apps.organizations.models import Org

# --- helpers ------------------------------------------------------------------------------


def org_for(user, pk, capability: str = "view") -> Org:
    """An org the user may see with the `view` capability (404 otherwise), then checked for
    `capability` (403)."""
    org = get_org_or_404(user, pk, "view")
    if not can(user, "view", org):
        raise Http404("未找到。")
    require(user, capability, org)
    return org


def period_param(request, default_kind: str = PeriodKind.QUARTER) -> Period:
    text = request.query_params.get("period") or ""
    if not text:
        return Period.current(default_kind)
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise ValidationError({"period": [str(exc)]}) from None


PERIOD_PARAM = OpenApiParameter(
    "period", str, description="期间：2026、2026-Q1 或 2026-03；默认本季度"
)


# --- serializers ----------------------------------------------------------------------------


class AttendanceOut(serializers.Serializer):
    member_id = serializers.IntegerField()
    name = serializers.CharField(source="member.name")
    status = serializers.CharField()
    reason = serializers.CharField()
    has_vote = serializers.BooleanField()
    excluded_from_expected = serializers.BooleanField()
    exclusion_reason = serializers.CharField()
    exclusion_basis = serializers.CharField()


class VoteOut(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    yes = serializers.IntegerField()
    no = serializers.IntegerField()
    abstain = serializers.IntegerField()
    expected_voting = serializers.IntegerField()
    present_voting = serializers.IntegerField()
    quorum_met = serializers.BooleanField()
    passed = serializers.BooleanField()
    contest = serializers.CharField()
    seats = serializers.IntegerField()
    runoff = serializers.BooleanField(help_text="票数相同超出名额，需再次投票")


class FlagOut(serializers.Serializer):
    """A 纸上党建 flag as the reader may see it (selectors.flags_for_viewer): the other meeting
    of a similarity flag is named only when it lies in the reader's scope."""

    code = serializers.CharField()
    label = serializers.CharField(source="get_code_display")
    detail = serializers.SerializerMethodField()
    other_id = serializers.SerializerMethodField()

    def get_detail(self, obj) -> str:
        return getattr(obj, "shown_detail", None) or (
            "与其他组织的一条记录高度相似" if obj.other_id else obj.detail
        )

    def get_other_id(self, obj) -> int | None:
        return obj.other_id if getattr(obj, "other_visible", False) else None


class AppraisalOut(serializers.Serializer):
    member_id = serializers.IntegerField()
    name = serializers.CharField(source="member.name")
    grade = serializers.CharField(help_text="空：预备党员参加评议，不评定等次")
    grade_label = serializers.SerializerMethodField()
    comment = serializers.CharField()

    def get_grade_label(self, obj) -> str:
        return obj.get_grade_display() if obj.grade else "不评定等次"


class CriticismNoteOut(serializers.Serializer):
    member_id = serializers.IntegerField()
    name = serializers.CharField(source="member.name")
    self_criticism = serializers.CharField()
    criticism_received = serializers.CharField()


class AttachmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return obj.file.url


class GuestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    affiliation = serializers.CharField(max_length=120, required=False, allow_blank=True)


class MeetingListOut(serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Meeting
        fields = [
            "id",
            "branch",
            "branch_name",
            "party_group",
            "kinds",
            "title",
            "place",
            "starts_at",
            "ends_at",
            "state",
            "state_label",
            "expected_count",
            "present_count",
            "leave_count",
            "version",
        ]


class MeetingOut(MeetingListOut):
    attendances = AttendanceOut(many=True)
    guests = GuestSerializer(many=True)
    votes = VoteOut(many=True)
    flags = FlagOut(many=True)
    attachments = AttachmentOut(many=True)
    appraisals = AppraisalOut(many=True)
    criticism_notes = CriticismNoteOut(many=True)

    class Meta(MeetingListOut.Meta):
        fields = [
            *MeetingListOut.Meta.fields,
            "planned_at",
            "unplanned_reason",
            "host",
            "recorder",
            "lecturer",
            "lecturer_name",
            "minutes",
            "decisions",
            "topics",
            "online_count",
            "absent_count",
            "roster_count",
            "recorded_at",
            "submitted_at",
            "reviewed_at",
            "review_comment",
            "cancel_reason",
            "attendances",
            "guests",
            "votes",
            "flags",
            "attachments",
            "appraisals",
            "criticism_notes",
        ]


class PlanIn(serializers.Serializer):
    branch = serializers.IntegerField()
    party_group = serializers.IntegerField(required=False, allow_null=True)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=MeetingKind.choices), min_length=1
    )
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attendee_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True
    )
    guests = GuestSerializer(many=True, required=False, default=list)
    unplanned_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class AttendanceIn(serializers.Serializer):
    member_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AttendanceStatus.choices)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    excluded_from_expected = serializers.BooleanField(required=False)
    exclusion_reason = serializers.ChoiceField(
        choices=ExclusionReason.choices,
        required=False,
        allow_blank=True,
        help_text="不计入应到会人数的情形（DOMAIN §1.4 六种之一）",
    )
    exclusion_basis = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ExclusionIn(serializers.Serializer):
    member_id = serializers.IntegerField()
    exclusion_reason = serializers.ChoiceField(choices=ExclusionReason.choices)
    exclusion_basis = serializers.CharField(max_length=300)


class AttendeesIn(serializers.Serializer):
    add = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    exclude = ExclusionIn(many=True, required=False, default=list)
    include = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="恢复计入应到"
    )
    remove = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    guests = GuestSerializer(
        many=True, required=False, help_text="列席人员（整表替换）；省略则不变"
    )
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="修改已报送记录的原因",
    )


class VoteIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=VoteKind.choices, default=VoteKind.RESOLUTION)
    title = serializers.CharField(max_length=200)
    yes = serializers.IntegerField(min_value=0)
    no = serializers.IntegerField(min_value=0, default=0)
    abstain = serializers.IntegerField(min_value=0, default=0)
    contest = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="选举：职务"
    )
    seats = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="选举：应选人数（同一职务一致）"
    )


class RecordIn(serializers.Serializer):
    attendance = AttendanceIn(many=True, required=False)
    host_id = serializers.IntegerField(required=False, allow_null=True)
    recorder_id = serializers.IntegerField(required=False, allow_null=True)
    lecturer_id = serializers.IntegerField(required=False, allow_null=True)
    lecturer_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    minutes = serializers.CharField(required=False, allow_blank=True)
    decisions = serializers.CharField(required=False, allow_blank=True)
    topics = serializers.CharField(required=False, allow_blank=True)
    guests = GuestSerializer(many=True, required=False)
    votes = VoteIn(many=True, required=False)
    unplanned_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="修改已报送记录的原因",
    )


class MoveIn(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CommentIn(serializers.Serializer):
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class GradeIn(serializers.Serializer):
    member_id = serializers.IntegerField()
    grade = serializers.ChoiceField(
        choices=AppraisalGrade.choices,
        allow_blank=True,
    )
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AppraisalIn(serializers.Serializer):
    grades = GradeIn(many=True)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CriticismNoteIn(serializers.Serializer):
    member_id = serializers.IntegerField()
    self_criticism = serializers.CharField(required=False, allow_blank=True, default="")
    criticism_received = serializers.CharField(required=False, allow_blank=True, default="")


class CriticismIn(serializers.Serializer):
    notes = CriticismNoteIn(many=True)
    topics = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AttachmentIn(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=AttachmentKind.choices, default=AttachmentKind.OTHER)


class ExemptionIn(serializers.Serializer):
    branch = serializers.IntegerField()
    period_key = serializers.CharField(max_length=10)
    kind = serializers.ChoiceField(
        choices=MeetingKind.choices, required=False, allow_blank=True, default=""
    )
    reason = serializers.CharField(max_length=300)


def _valid(serializer_class, request):
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _meeting_out(meeting, user) -> dict:
    meeting = selectors.meeting_detail(meeting)
    selectors.flags_for_viewer(user, meeting)  # marks the prefetched flags for this reader
    return MeetingOut(meeting).data


def _detail(meeting, user) -> Response:
    return Response(_meeting_out(meeting, user))


def _branch_group(user, data):
    branch = org_for(user, data["branch"], "branch_write")
    group = None
    if data.get("party_group"):
        try:
            group = Org.objects.get(pk=data["party_group"], parent=branch)
        except Org.DoesNotExist:
            raise Http404("未找到。") from None
    return branch, group


# --- meetings -----------------------------------------------------------------------------------


class MeetingList(generics.ListAPIView):
    """Meetings in the user's subtree, newest first. Filters: branch, state, kind, flagged, from, to."""

    serializer_class = MeetingListOut
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("branch", int),
            OpenApiParameter("state", str),
            OpenApiParameter("kind", str),
            OpenApiParameter("flagged", bool),
            OpenApiParameter("from", str, description="YYYY-MM-DD"),
            OpenApiParameter("to", str, description="YYYY-MM-DD"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        org = org_for(self.request.user, p["branch"]) if p.get("branch") else None
        flagged = {"1": True, "true": True, "0": False, "false": False}.get(p.get("flagged", ""))
        scope = scope_of(self.request.user)
        if not scope.has("view") and scope.has("self"):
            # an ordinary member: the meetings they are expected at, nothing else
            qs = selectors.meetings_attended_by(self.request.user).order_by("-starts_at", "-id")
            if p.get("state"):
                qs = qs.filter(state=p["state"])
            if p.get("kind"):
                qs = qs.filter(kinds__contains=[p["kind"]])
        else:
            qs = selectors.review_queue(
                self.request.user,
                state=p.get("state") or None,
                kind=p.get("kind") or None,
                org=org,
                flagged=flagged,
            )
        for param, lookup in (("from", "starts_at__date__gte"), ("to", "starts_at__date__lte")):
            if p.get(param):
                try:
                    import datetime as dt

                    qs = qs.filter(**{lookup: dt.date.fromisoformat(p[param])})
                except ValueError:
                    raise ValidationError({param: ["日期格式应为 YYYY-MM-DD。"]}) from None
        return qs

    @extend_schema(request=PlanIn, responses={201: MeetingOut})
    def post(self, request):
        """Plan a meeting (or start the record of one held outside the plan)."""
        data = _valid(PlanIn, request)
        branch, group = _branch_group(request.user, data)
        meeting = services.meeting_plan(
            actor=request.user,
            branch=branch,
            party_group=group,
            kinds=data["kinds"],
            title=data["title"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            place=data["place"],
            attendee_ids=data.get("attendee_ids"),
            guests=data["guests"],
            unplanned_reason=data["unplanned_reason"],
        )
        return Response(_meeting_out(meeting, request.user), status=status.HTTP_201_CREATED)


def _attendee_view(meeting, user) -> dict:
    """What an expected attendee without the `view` scope may read: the record without the
    other people's attendance, the 纸上党建 flags, attachments and the review comment."""
    data = _meeting_out(meeting, user)
    member = selectors.member_record_of(user)
    data["attendances"] = [a for a in data["attendances"] if member and a["member_id"] == member.pk]
    data["flags"], data["attachments"], data["review_comment"] = [], [], ""
    data["roster_count"] = 0
    return data


class MeetingDetail(APIView):
    @extend_schema(
        responses=MeetingOut,
        description="An ordinary member (self scope) reads the meetings they are expected at: "
        "only their own attendance row, no flags, attachments or review comment.",
    )
    def get(self, request, pk: int):
        meeting, full = selectors.meeting_read(request.user, pk)
        if not full:
            return Response(_attendee_view(meeting, request.user))
        return _detail(meeting, request.user)

    @extend_schema(parameters=[OpenApiParameter("reason", str)], responses={204: None})
    def delete(self, request, pk: int):
        """Delete a mistaken entry: the secretary before submitting, the superior afterwards (with a reason)."""
        meeting = selectors.meeting_for(request.user, pk)
        require(
            request.user,
            "superior" if meeting.state in LOCKED_STATES else "branch_write",
            meeting.branch,
        )
        services.meeting_delete(
            actor=request.user, meeting=meeting, reason=request.query_params.get("reason", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeetingRecord(APIView):
    @extend_schema(request=RecordIn, responses=MeetingOut)
    def post(self, request, pk: int):
        """Record attendance, minutes, decisions, votes. On a submitted record: a new version (reason needed)."""
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(RecordIn, request)
        meeting = services.meeting_record(actor=request.user, meeting=meeting, **data)
        return _detail(meeting, request.user)


class MeetingAttendees(APIView):
    @extend_schema(request=AttendeesIn, responses=MeetingOut)
    def post(self, request, pk: int):
        """Edit the expected attendees: add branch party members, remove attendees, replace the
        invited non-members (列席). On a submitted record: a new version (reason needed)."""
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(AttendeesIn, request)
        meeting = services.meeting_attendees(
            actor=request.user,
            meeting=meeting,
            add_ids=data["add"],
            remove_ids=data["remove"],
            guests=data.get("guests"),
            exclude=data["exclude"],
            include_ids=data["include"],
            reason=data["reason"],
        )
        return _detail(meeting, request.user)


class MeetingMove(APIView):
    @extend_schema(request=MoveIn, responses=MeetingOut)
    def post(self, request, pk: int):
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(MoveIn, request)
        return _detail(
            services.meeting_move(actor=request.user, meeting=meeting, **data), request.user
        )


class MeetingCancel(APIView):
    @extend_schema(request=ReasonIn, responses=MeetingOut)
    def post(self, request, pk: int):
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(ReasonIn, request)
        return _detail(
            services.meeting_cancel(actor=request.user, meeting=meeting, reason=data["reason"]),
            request.user,
        )


class MeetingSubmit(APIView):
    @extend_schema(request=None, responses=MeetingOut)
    def post(self, request, pk: int):
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        return _detail(services.meeting_submit(actor=request.user, meeting=meeting), request.user)


class MeetingAccept(APIView):
    @extend_schema(request=CommentIn, responses=MeetingOut)
    def post(self, request, pk: int):
        meeting = selectors.meeting_for(request.user, pk, "superior")
        data = _valid(CommentIn, request)
        return _detail(
            services.meeting_accept(actor=request.user, meeting=meeting, comment=data["comment"]),
            request.user,
        )


class MeetingReturn(APIView):
    @extend_schema(request=CommentIn, responses=MeetingOut)
    def post(self, request, pk: int):
        """退回 with a comment (required)."""
        meeting = selectors.meeting_for(request.user, pk, "superior")
        data = _valid(CommentIn, request)
        return _detail(
            services.meeting_return(actor=request.user, meeting=meeting, comment=data["comment"]),
            request.user,
        )


class MeetingAppraisals(APIView):
    @extend_schema(request=AppraisalIn, responses=MeetingOut)
    def post(self, request, pk: int):
        """民主评议 grades (预备党员: empty grade)."""
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(AppraisalIn, request)
        services.appraisal_record(
            actor=request.user, meeting=meeting, grades=data["grades"], reason=data["reason"]
        )
        return _detail(meeting, request.user)


class MeetingCriticism(APIView):
    @extend_schema(request=CriticismIn, responses=MeetingOut)
    def post(self, request, pk: int):
        """组织生活会 topics and 批评与自我批评 notes."""
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(CriticismIn, request)
        services.criticism_record(
            actor=request.user,
            meeting=meeting,
            notes=data["notes"],
            topics=data.get("topics"),
            reason=data["reason"],
        )
        return _detail(meeting, request.user)


class MeetingAttachments(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": AttachmentIn}, responses={201: AttachmentOut})
    def post(self, request, pk: int):
        """Upload a sign-in sheet scan, photo or PDF (JPG/PNG/WEBP/PDF, at most 10 MB)."""
        meeting = selectors.meeting_for(request.user, pk, "branch_write")
        data = _valid(AttachmentIn, request)
        att = services.attachment_add(
            actor=request.user, meeting=meeting, upload=data["file"], kind=data["kind"]
        )
        return Response(AttachmentOut(att).data, status=status.HTTP_201_CREATED)


class AttachmentDelete(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        qs = scoped(
            MeetingAttachment.objects.select_related("meeting__branch"),
            request.user,
            path_field="meeting__branch__path",
        )
        try:
            att = qs.get(pk=pk)
        except MeetingAttachment.DoesNotExist:
            raise Http404("未找到。") from None
        require(request.user, "branch_write", att.meeting.branch)
        services.attachment_delete(actor=request.user, attachment=att)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeetingVersions(APIView):
    @extend_schema(
        responses=inline_serializer(
            "MeetingVersionOut",
            {
                "number": serializers.IntegerField(),
                "reason": serializers.CharField(),
                "changed_by": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
                "snapshot": serializers.DictField(),
            },
            many=True,
        )
    )
    def get(self, request, pk: int):
        """Earlier versions of a record edited after it was locked."""
        meeting = selectors.meeting_for(request.user, pk)
        return Response(
            [
                {
                    "number": v.number,
                    "reason": v.reason,
                    "changed_by": str(v.changed_by or ""),
                    "created_at": v.created_at,
                    "snapshot": v.snapshot,
                }
                for v in meeting.versions.select_related("changed_by").order_by("-number")
            ]
        )


class MyMeetings(APIView):
    @extend_schema(
        parameters=[PERIOD_PARAM],
        responses=inline_serializer(
            "MyMeetingsOut",
            {
                "member": serializers.IntegerField(),
                "period": serializers.CharField(),
                "expected": serializers.IntegerField(),
                "present": serializers.IntegerField(),
                "leave": serializers.IntegerField(),
                "rate": serializers.FloatField(allow_null=True),
                "meetings": serializers.ListField(),
            },
        ),
    )
    def get(self, request):
        """The signed-in member's own meetings in a period (default: this year) with their own
        attendance, and their attendance rate over the counted (reported) meetings."""
        member = selectors.member_record_of(request.user)
        if member is None:
            raise Http404("未找到您的党员档案。")
        period = period_param(request, PeriodKind.YEAR)
        rate = selectors.attendance_rate(period=period, member=member)
        rows = selectors.my_meetings(request.user, start=period.start_at, end=period.end_at)
        return Response(
            {
                "member": member.pk,
                "period": period.key,
                "expected": rate.expected,
                "present": rate.present,
                "leave": rate.leave,
                "rate": rate.rate,
                "meetings": [
                    {
                        **MeetingListOut(m).data,
                        "my_status": a.status,
                        "my_reason": a.reason,
                        "has_vote": a.has_vote,
                        "excluded_from_expected": a.excluded_from_expected,
                    }
                    for m, a in rows
                ],
            }
        )


# --- compliance ------------------------------------------------------------------------------------

RequirementOut = inline_serializer(
    "RequirementResultOut",
    {
        "name": serializers.CharField(),
        "kind": serializers.CharField(),
        "period": serializers.CharField(),
        "min_count": serializers.IntegerField(),
        "status": serializers.CharField(),
        "done": serializers.IntegerField(),
        "total": serializers.IntegerField(),
        "count": serializers.IntegerField(),
    },
)


def _branch_compliance_json(c) -> dict:
    return {
        "branch": c.branch.pk,
        "branch_name": c.branch.name,
        "period": c.period.key,
        "state": c.state,
        "compliant": c.compliant,
        "meeting_count": c.meeting_count,
        "expected": c.expected,
        "present": c.present,
        "attendance_rate": c.attendance_rate,
        "requirements": [
            {
                "name": r.name,
                "kind": r.kind,
                "period": r.period,
                "min_count": r.min_count,
                "status": r.status,
                "done": r.done,
                "total": r.total,
                "count": r.count,
                "details": [{"period": d[0], "status": d[1], "count": d[2]} for d in r.details],
            }
            for r in c.results
        ],
    }


class BranchCompliance(APIView):
    @extend_schema(
        parameters=[PERIOD_PARAM],
        responses=inline_serializer(
            "BranchComplianceOut",
            {
                "branch": serializers.IntegerField(),
                "state": serializers.CharField(),
                "compliant": serializers.BooleanField(),
                "requirements": RequirementOut,
            },
        ),
    )
    def get(self, request, pk: int):
        """Each requirement of one branch: met / pending / due soon / overdue / exempt, and its state."""
        branch = org_for(request.user, pk)
        if not branch.is_branch:
            raise ValidationError({"branch": ["请选择党支部。"]})
        return Response(
            _branch_compliance_json(selectors.compliance_for_branch(branch, period_param(request)))
        )


class SubtreeCompliance(APIView):
    @extend_schema(
        parameters=[PERIOD_PARAM],
        responses=inline_serializer(
            "SubtreeComplianceOut",
            {
                "org": serializers.IntegerField(),
                "period": serializers.CharField(),
                "children": serializers.ListField(),
            },
        ),
    )
    def get(self, request, pk: int):
        """Share of fully compliant branches per kind and overall, for the org and each direct child
        (tree rollup; quarter or year)."""
        org = org_for(request.user, pk)
        period = period_param(request)
        if period.kind == PeriodKind.MONTH:
            raise ValidationError({"period": ["请按季度或年度查询。"]})
        sub = selectors.compliance_for_subtree(org, period)

        def row(r):
            if r is None:
                return None
            return {
                "org": r.org_id,
                "name": r.name,
                "org_type": r.org_type,
                "branch_count": r.branch_count,
                "compliant_count": r.compliant_count,
                "compliant_share": r.compliant_share,
                "green": r.green,
                "yellow": r.yellow,
                "red": r.red,
                "meeting_count": r.meeting_count,
                "expected": r.expected,
                "present": r.present,
                "attendance_rate": r.attendance_rate,
                "per_kind": {k: dict(v, share=r.kind_share(k)) for k, v in r.per_kind.items()},
            }

        return Response(
            {
                "org": org.pk,
                "period": period.key,
                "refreshed_at": sub.refreshed_at,
                "stale": sub.stale,
                "total": row(sub.total),
                "children": [row(c) for c in sub.children],
            }
        )


class OverdueList(APIView):
    @extend_schema(
        parameters=[PERIOD_PARAM],
        responses=inline_serializer("OverdueOut", {"branches": serializers.ListField()}),
    )
    def get(self, request, pk: int):
        """Branches of the subtree in the red state with their overdue requirements."""
        org = org_for(request.user, pk)
        period = period_param(request)
        if period.kind == PeriodKind.MONTH:
            raise ValidationError({"period": ["请按季度或年度查询。"]})
        return Response(
            {
                "branches": [
                    _branch_compliance_json(c) for c in selectors.overdue_requirements(org, period)
                ]
            }
        )


class BranchAttendance(APIView):
    @extend_schema(
        parameters=[PERIOD_PARAM],
        responses=inline_serializer(
            "BranchAttendanceOut",
            {"rate": serializers.FloatField(allow_null=True), "members": serializers.ListField()},
        ),
    )
    def get(self, request, pk: int):
        """Attendance rate of the branch and of each member over counted meetings."""
        branch = org_for(request.user, pk)
        period = period_param(request)
        rate = selectors.attendance_rate(period=period, branch=branch)
        return Response(
            {
                "branch": branch.pk,
                "period": period.key,
                "expected": rate.expected,
                "present": rate.present,
                "leave": rate.leave,
                "rate": rate.rate,
                "members": selectors.attendance_by_member(branch, period),
            }
        )


class ExemptionOut(serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name")
    kind_label = serializers.SerializerMethodField()
    approved_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Exemption
        fields = [
            "id",
            "branch",
            "branch_name",
            "kind",
            "kind_label",
            "period_key",
            "reason",
            "approved_by",
            "approved_by_name",
            "approved_on",
        ]

    def get_kind_label(self, obj) -> str:
        return obj.get_kind_display() if obj.kind else "全部类型"

    def get_approved_by_name(self, obj) -> str:
        return obj.approved_by.get_full_name() or obj.approved_by.get_username()


class ExemptionList(generics.ListAPIView):
    """免于考核 records of the branches in the user's scope. Filters: org (subtree), period."""

    serializer_class = ExemptionOut
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("org", int, description="只看该组织及其下级"),
            OpenApiParameter("period", str, description="期间键，如 2026-Q1"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        from apps.accounts.scope import require_capability

        require_capability(self.request.user, "view")
        p = self.request.query_params
        org = org_for(self.request.user, p["org"]) if p.get("org") else None
        return selectors.exemptions_visible_to(
            self.request.user, org=org, period_key=p.get("period", "")
        )

    @extend_schema(request=ExemptionIn, responses={201: ExemptionOut})
    def post(self, request):
        """免于考核 for a branch and period (superior); the approver is the signed-in user."""
        data = _valid(ExemptionIn, request)
        branch = org_for(request.user, data["branch"], "superior")
        e = services.exemption_grant(
            actor=request.user,
            branch=branch,
            period_key=data["period_key"],
            kind=data["kind"],
            reason=data["reason"],
        )
        return Response(ExemptionOut(e).data, status=status.HTTP_201_CREATED)


class ExemptionDetail(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("reason", str, description="撤销原因（必填）")],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        """Withdraw an exemption (superior, reason required)."""
        e = get_scoped_or_404(
            Exemption.objects.select_related("branch"),
            request.user,
            path_field="branch__path",
            pk=pk,
        )
        require(request.user, "superior", e.branch)
        services.exemption_revoke(
            actor=request.user, exemption=e, reason=request.query_params.get("reason", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RequirementList(APIView):
    @extend_schema(
        responses=inline_serializer(
            "RequirementOut",
            {
                "name": serializers.CharField(),
                "kind": serializers.CharField(),
                "period": serializers.CharField(),
                "min_count": serializers.IntegerField(),
            },
            many=True,
        )
    )
    def get(self, request):
        """The frequency requirements in force (editable in the admin)."""
        from apps.accounts.scope import require_capability

        require_capability(request.user, "view")
        return Response(
            [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "period": r.period,
                    "min_count": r.min_count,
                    "needs_committee": r.needs_committee,
                    "per_party_group": r.per_party_group,
                    "org_types": r.org_types,
                    "categories": r.categories,
                    "basis": r.basis,
                }
                for r in MeetingRequirement.objects.filter(active=True).order_by("kind", "period")
            ]
        )


_ = MeetingState
urlpatterns = [
    path("meetings/", MeetingList.as_view(), name="meetings-list"),
    path("meetings/mine/", MyMeetings.as_view(), name="meetings-mine"),
    path("meetings/<int:pk>/", MeetingDetail.as_view(), name="meetings-detail"),
    path("meetings/<int:pk>/record/", MeetingRecord.as_view(), name="meetings-record"),
    path("meetings/<int:pk>/move/", MeetingMove.as_view(), name="meetings-move"),
    path("meetings/<int:pk>/attendees/", MeetingAttendees.as_view(), name="meetings-attendees"),
    path("meetings/<int:pk>/cancel/", MeetingCancel.as_view(), name="meetings-cancel"),
    path("meetings/<int:pk>/submit/", MeetingSubmit.as_view(), name="meetings-submit"),
    path("meetings/<int:pk>/accept/", MeetingAccept.as_view(), name="meetings-accept"),
    path("meetings/<int:pk>/return/", MeetingReturn.as_view(), name="meetings-return"),
    path("meetings/<int:pk>/appraisals/", MeetingAppraisals.as_view(), name="meetings-appraisals"),
    path("meetings/<int:pk>/criticism/", MeetingCriticism.as_view(), name="meetings-criticism"),
    path(
        "meetings/<int:pk>/attachments/", MeetingAttachments.as_view(), name="meetings-attachments"
    ),
    path("meetings/<int:pk>/versions/", MeetingVersions.as_view(), name="meetings-versions"),
    path(
        "meetings/attachments/<int:pk>/",
        AttachmentDelete.as_view(),
        name="meetings-attachment-delete",
    ),
    path("meetings/requirements/", RequirementList.as_view(), name="meetings-requirements"),
    path("meetings/exemptions/", ExemptionList.as_view(), name="meetings-exemptions"),
    path(
        "meetings/exemptions/<int:pk>/",
        ExemptionDetail.as_view(),
        name="meetings-exemption-detail",
    ),
    path(
        "meetings/compliance/branch/<int:pk>/",
        BranchCompliance.as_view(),
        name="meetings-compliance-branch",
    ),
    path(
        "meetings/compliance/subtree/<int:pk>/",
        SubtreeCompliance.as_view(),
        name="meetings-compliance-subtree",
    ),
    path(
        "meetings/compliance/overdue/<int:pk>/",
        OverdueList.as_view(),
        name="meetings-compliance-overdue",
    ),
    path("meetings/attendance/<int:pk>/", BranchAttendance.as_view(), name="meetings-attendance"),
]
