"""REST endpoints for members: the same services as the pages, the same scope rules
(outside the subtree → 404; visible but read-only → 403)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scope import can, get_org_or_404, get_scoped_or_404, require_capability
from apps.core.periods import Period, local_today
from apps.members import roster, selectors, services
from apps.members.models import (
    DevelopmentStep,
    DuesMonth,
    DuesWaiver,
    Gender,
    Member,
    PendingItem,
    Transfer,
)
from apps.members.views import (
    WRITE,
    XLSX,
    export_org,
    lifecycle_run,
    require_any,
    roster_export_response,
    transfer_run,
)


def _member(request, pk) -> Member:
    return get_scoped_or_404(
        Member.objects.select_related("branch"), request.user, path_field="branch__path", pk=pk
    )


def _valid(serializer_class, data):
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


class MemberSerializer(serializers.ModelSerializer):
    """Personal data is masked: `id_number_masked`, `phone_masked`; full values only via reveal."""

    status_display = serializers.CharField(source="get_status_display", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    seniority_years = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "education",
            "occupation",
            "work_unit",
            "post",
            "branch",
            "branch_name",
            "party_group",
            "status",
            "status_display",
            "status_since",
            "joined_on",
            "confirmed_on",
            "probation_ends_on",
            "probation_extended_months",
            "management_status",
            "mobile_out_to",
            "mobile_in_from",
            "lost_contact_since",
            "abroad_since",
            "is_center_household",
            "id_number_masked",
            "phone_masked",
            "seniority_years",
            "transferred_out_on",
        ]
        read_only_fields = fields


class MemberWriteSerializer(serializers.Serializer):
    branch = serializers.IntegerField(required=False, help_text="新建时必填：党支部编号")
    status = serializers.ChoiceField(
        choices=["full", "probationary"], required=False, default="full"
    )
    name = serializers.CharField(max_length=64, required=False)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False)
    birth_date = serializers.DateField(required=False, allow_null=True)
    ethnicity = serializers.CharField(max_length=16, required=False)
    education = serializers.CharField(max_length=16, required=False, allow_blank=True)
    occupation = serializers.CharField(max_length=16, required=False, allow_blank=True)
    work_unit = serializers.CharField(max_length=120, required=False, allow_blank=True)
    post = serializers.CharField(max_length=60, required=False, allow_blank=True)
    management_status = serializers.CharField(max_length=16, required=False)
    mobile_out_to = serializers.CharField(max_length=120, required=False, allow_blank=True)
    mobile_in_from = serializers.CharField(max_length=120, required=False, allow_blank=True)
    abroad_since = serializers.DateField(
        required=False, allow_null=True, help_text="出国（境）日期：管理状态为出国（境）时必填"
    )
    lost_contact_since = serializers.DateField(
        required=False, allow_null=True, help_text="失联起始日期：管理状态为失联时必填"
    )
    is_center_household = serializers.BooleanField(required=False)
    joined_on = serializers.DateField(required=False, allow_null=True)
    confirmed_on = serializers.DateField(required=False, allow_null=True)
    leaving_unit_on = serializers.DateField(required=False, allow_null=True)
    id_number = serializers.CharField(
        max_length=18, required=False, allow_blank=True, write_only=True
    )
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, write_only=True)


class MemberList(generics.ListAPIView):
    """Search members in scope: `q` (name prefix, ID suffix ≤4, or a full ID number), `status`,
    `occupation`, `org` (a subtree). POST creates a record in a branch (branch_write)."""

    serializer_class = MemberSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("status", str),
            OpenApiParameter("occupation", str),
            OpenApiParameter("management_status", str),
            OpenApiParameter("org", int),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        require_capability(self.request.user, "view")
        p = self.request.query_params
        org = get_org_or_404(self.request.user, p["org"]) if p.get("org") else None
        return selectors.member_search(
            user=self.request.user,
            org=org,
            q=p.get("q", ""),
            status=p.get("status", ""),
            occupation=p.get("occupation", ""),
            management_status=p.get("management_status", ""),
        )

    @extend_schema(request=MemberWriteSerializer, responses={201: MemberSerializer})
    def post(self, request):
        data = dict(_valid(MemberWriteSerializer, request.data))
        if "branch" not in data:
            raise ValidationError({"branch": ["请指定党支部。"]})
        branch = get_org_or_404(request.user, data.pop("branch"))
        require_any(request.user, branch, ("branch_write",))
        for key in ("name", "gender"):
            if not data.get(key):
                raise ValidationError({key: ["此项为必填项。"]})
        member = services.member_create(actor=request.user, branch=branch, **data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class MemberDetail(APIView):
    @extend_schema(responses=MemberSerializer)
    def get(self, request, id: int):
        return Response(MemberSerializer(_member(request, id)).data)

    @extend_schema(request=MemberWriteSerializer, responses=MemberSerializer)
    def patch(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        data = dict(_valid(MemberWriteSerializer, request.data))
        for key in ("branch", "status"):
            data.pop(key, None)
        member = services.member_update(
            actor=request.user,
            member=member,
            id_number=data.pop("id_number", None),
            phone=data.pop("phone", None),
            **data,
        )
        return Response(MemberSerializer(member).data)


class PhotoSerializer(serializers.Serializer):
    photo = serializers.FileField(help_text="JPG 或 PNG，不超过 2MB")


class MemberPhoto(APIView):
    """Upload (multipart `photo`) or remove the member's photo. The file is served at
    `photo_url` to users who may see the member (apps/core/media.py)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": PhotoSerializer},
        responses=inline_serializer("PhotoOut", {"photo_url": serializers.CharField()}),
    )
    def put(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        data = _valid(PhotoSerializer, request.data)
        member = services.member_update(actor=request.user, member=member, photo=data["photo"])
        return Response({"photo_url": member.photo.url})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        services.member_photo_remove(actor=request.user, member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimelineEntrySerializer(serializers.Serializer):
    on = serializers.DateField()
    kind = serializers.CharField(
        help_text="status, step, transfer, dues, study, contact, appraisal"
    )
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class MemberTimeline(APIView):
    """Everything that happened to the member, newest first (the member page's timeline)."""

    @extend_schema(responses=TimelineEntrySerializer(many=True))
    def get(self, request, id: int):
        member = _member(request, id)
        return Response(
            TimelineEntrySerializer(selectors.member_timeline(member=member), many=True).data
        )


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    contacted_on = serializers.DateField(help_text="联系日期，不能晚于今天")
    way = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text="电话、微信、走访"
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    recorded_by = serializers.CharField(
        source="actor.get_full_name", read_only=True, allow_null=True, default=None
    )


class MemberContacts(APIView):
    """联系记录 of a 流动党员 or a member abroad (每半年至少联系1次); POST records one
    (branch_write), the same service as the page."""

    @extend_schema(responses=ContactSerializer(many=True))
    def get(self, request, id: int):
        member = _member(request, id)
        return Response(ContactSerializer(selectors.member_contacts(member=member), many=True).data)

    @extend_schema(request=ContactSerializer, responses={201: ContactSerializer})
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        contact = services.mobile_contact_record(
            actor=request.user, member=member, **_valid(ContactSerializer, request.data)
        )
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class LifecycleSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[
            "confirm",
            "extend",
            "cancel",
            "suspend",
            "restore",
            "remove",
            "decease",
            "lost_contact",
        ]
    )
    on = serializers.DateField()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    months = serializers.IntegerField(required=False, allow_null=True, default=None)
    kind = serializers.CharField(required=False, allow_blank=True, default="")
    deciding_org = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="决定组织：所在党支部或其上级党组织的编号；默认审批事项为上级党委，其余为本支部",
    )


class MemberLifecycle(APIView):
    """One lifecycle action (DOMAIN §3.3); an illegal transition is a 400 with the reason."""

    @extend_schema(request=LifecycleSerializer, responses=MemberSerializer)
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch)
        data = dict(_valid(LifecycleSerializer, request.data))
        member = lifecycle_run(
            actor=request.user, member=member, action=data.pop("action"), data=data
        )
        return Response(MemberSerializer(member).data)


class StepSerializer(serializers.ModelSerializer):
    step_display = serializers.CharField(source="get_step_display", read_only=True)
    people = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = DevelopmentStep
        fields = [
            "id",
            "step",
            "step_display",
            "done_on",
            "people",
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
            "deciding_org",
        ]


class StepWriteSerializer(serializers.Serializer):
    step = serializers.IntegerField(min_value=2, max_value=25)
    done_on = serializers.DateField()
    people = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    note = serializers.CharField(required=False, allow_blank=True)
    late_reason = serializers.CharField(required=False, allow_blank=True)
    publicity_from = serializers.DateField(required=False, allow_null=True)
    publicity_to = serializers.DateField(required=False, allow_null=True)
    training_days = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True
    )
    training_hours = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True
    )
    expected_voting = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    attended_voting = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    votes_for = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    decision = serializers.ChoiceField(choices=["confirm", "extend", "cancel"], required=False)
    extension_months = serializers.IntegerField(required=False, allow_null=True)
    deciding_org = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="决定组织：所在党支部或其上级党组织的编号；默认审批步骤为上级党委，其余为本支部",
    )


class MemberSteps(APIView):
    """The development steps of a member; POST records the next one (rules of DOMAIN §3.2)."""

    @extend_schema(responses=StepSerializer(many=True))
    def get(self, request, id: int):
        member = _member(request, id)
        return Response(StepSerializer(member.steps.prefetch_related("people"), many=True).data)

    @extend_schema(request=StepWriteSerializer, responses={201: StepSerializer})
    def post(self, request, id: int):
        from apps.accounts.scope import scoped_ids

        member = _member(request, id)
        require_any(request.user, member.branch)
        data = dict(_valid(StepWriteSerializer, request.data))
        people = scoped_ids(
            Member.objects.all(), request.user, data.pop("people"), path_field="branch__path"
        )
        step = data.pop("step")
        deciding_org = services.deciding_org_resolve(
            member, data.pop("deciding_org", None), approval=step in services.APPROVAL_STEPS
        )
        row = services.development_step_record(
            actor=request.user,
            member=member,
            step=step,
            done_on=data.pop("done_on"),
            people=people,
            deciding_org=deciding_org,
            **data,
        )
        return Response(StepSerializer(row).data, status=status.HTTP_201_CREATED)


class ApplySerializer(serializers.Serializer):
    branch = serializers.IntegerField()
    name = serializers.CharField(max_length=64)
    gender = serializers.ChoiceField(choices=Gender.choices)
    applied_on = serializers.DateField()
    birth_date = serializers.DateField(required=False, allow_null=True)
    id_number = serializers.CharField(max_length=18, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class DevelopmentApply(APIView):
    """Step 1: register an application (creates the applicant's record)."""

    @extend_schema(request=ApplySerializer, responses={201: MemberSerializer})
    def post(self, request):
        data = dict(_valid(ApplySerializer, request.data))
        branch = get_org_or_404(request.user, data.pop("branch"))
        require_any(request.user, branch, ("branch_write",))
        member = services.development_apply(actor=request.user, branch=branch, **data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class DueSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="member.pk")
    member_name = serializers.CharField(source="member.name")
    branch_name = serializers.CharField(source="member.branch.name")
    kind = serializers.CharField()
    label = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()


class DueList(APIView):
    """The development due list for the user's scope (or `org`'s subtree)."""

    @extend_schema(parameters=[OpenApiParameter("org", int)], responses=DueSerializer(many=True))
    def get(self, request):
        require_capability(request.user, "view")
        org = (
            get_org_or_404(request.user, request.query_params["org"])
            if request.query_params.get("org")
            else None
        )
        return Response(
            DueSerializer(selectors.development_due(user=request.user, org=org), many=True).data
        )


PIPELINE_COLUMNS = (
    ("applicant", "入党申请人"),
    ("activist", "入党积极分子"),
    ("candidate", "发展对象"),
    ("probationary", "预备党员"),
)


class PipelineMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    branch = serializers.IntegerField(source="branch_id")
    branch_name = serializers.CharField(source="branch.name")
    status = serializers.CharField()
    status_since = serializers.DateField(allow_null=True)
    last_step = serializers.IntegerField(allow_null=True, help_text="已记录的最后一个发展步骤")
    last_on = serializers.DateField(allow_null=True)


class PipelineStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    members = PipelineMemberSerializer(many=True)


class OrgQuerySerializer(serializers.Serializer):
    org = serializers.IntegerField(required=False, help_text="党组织编号：只看其下级范围")


def _org_query(request):
    """`?org=` scoped through the door: not an integer → 400, outside the subtree → 404."""
    org_id = _valid(OrgQuerySerializer, request.query_params).get("org")
    return get_org_or_404(request.user, org_id) if org_id is not None else None


class Pipeline(APIView):
    """The 发展党员 board: people per stage in the user's scope (or `org`'s subtree), as the
    pipeline page shows them (the same selector and the same cap)."""

    @extend_schema(
        parameters=[OpenApiParameter("org", int)], responses=PipelineStageSerializer(many=True)
    )
    def get(self, request):
        require_capability(request.user, "view")
        org = _org_query(request)
        board = selectors.pipeline_board(user=request.user, org=org)
        stages = [
            {"stage": key, "label": label, "count": len(board[key]), "members": board[key]}
            for key, label in PIPELINE_COLUMNS
        ]
        return Response(PipelineStageSerializer(stages, many=True).data)


class PendingSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    branch = serializers.IntegerField(source="member.branch_id", read_only=True)
    branch_name = serializers.CharField(source="member.branch.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = PendingItem
        fields = [
            "id",
            "member",
            "member_name",
            "branch",
            "branch_name",
            "kind",
            "kind_display",
            "raised_on",
            "detail",
            "resolved_on",
            "resolution",
        ]
        read_only_fields = fields


class PendingList(generics.ListAPIView):
    """Open 待处理事项 in scope (or `org`'s subtree): 自行脱党审查 after 6 unpaid months, 失联 or
    出国（境） prompts to suspend, 停止党籍 prompts to remove. Prompts only: the decision is a
    lifecycle action; resolving records what the branch decided."""

    serializer_class = PendingSerializer
    queryset = PendingItem.objects.none()  # for the schema; get_queryset scopes the real one
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("org", int)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        require_capability(self.request.user, "view")
        return selectors.pending_items_visible_to(self.request.user, org=_org_query(self.request))


class PendingResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(
        max_length=300, help_text="处理结果，如：经支部研究已停止党籍"
    )


class PendingResolve(APIView):
    """Record the branch's decision on an open item (branch or superior), as the page does."""

    @extend_schema(request=PendingResolveSerializer, responses=PendingSerializer)
    def post(self, request, id: int):
        item = selectors.pending_items_visible_to(request.user).filter(pk=id).first()
        if item is None:
            raise Http404("未找到。")
        require_any(request.user, item.member.branch)
        data = _valid(PendingResolveSerializer, request.data)
        item = services.pending_resolve(
            actor=request.user, item=item, resolution=data["resolution"]
        )
        return Response(PendingSerializer(item).data)


class DuesMonthSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    due = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    settled = serializers.BooleanField(read_only=True)

    class Meta:
        model = DuesMonth
        fields = [
            "id",
            "member",
            "member_name",
            "month",
            "expected",
            "waived",
            "due",
            "paid",
            "settled",
            "payment",
        ]


class DuesSheet(APIView):
    """The dues sheet of a branch for a month (`month=2026-07`)."""

    @extend_schema(
        parameters=[OpenApiParameter("branch", int, required=True), OpenApiParameter("month", str)],
        responses=DuesMonthSerializer(many=True),
    )
    def get(self, request):
        branch = get_org_or_404(request.user, request.query_params.get("branch"))
        if not can(request.user, "view", branch):
            raise Http404("未找到。")
        try:
            month = Period.parse(
                request.query_params.get("month") or Period.current("month").key
            ).start
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from None
        return Response(
            DuesMonthSerializer(
                selectors.dues_sheet(user=request.user, branch=branch, month=month), many=True
            ).data
        )


class DuesBaseSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1990, max_value=2100)
    kind = serializers.CharField()
    base = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )


class MemberDuesBase(APIView):
    @extend_schema(
        request=DuesBaseSerializer,
        responses=inline_serializer(
            "DuesBaseOut", {"monthly_amount": serializers.DecimalField(10, 2)}
        ),
    )
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        row = services.dues_base_set(
            actor=request.user, member=member, **_valid(DuesBaseSerializer, request.data)
        )
        return Response({"monthly_amount": row.monthly_amount})


class PaymentSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.DateField(), allow_empty=True)
    paid_on = serializers.DateField(required=False)
    mode = serializers.CharField(default="monthly")
    paid_by = serializers.CharField(required=False, allow_blank=True, default="")
    extra = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, default=0)


class MemberDuesPayment(APIView):
    @extend_schema(
        request=PaymentSerializer,
        responses={
            201: inline_serializer(
                "PaymentOut",
                {
                    "id": serializers.IntegerField(),
                    "amount": serializers.DecimalField(10, 2),
                    "to_central": serializers.BooleanField(),
                },
            )
        },
    )
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        data = dict(_valid(PaymentSerializer, request.data))
        data.setdefault("paid_on", local_today())
        p = services.dues_pay(actor=request.user, member=member, **data)
        return Response(
            {"id": p.pk, "amount": p.amount, "to_central": p.to_central},
            status=status.HTTP_201_CREATED,
        )


class StudyWriteSerializer(serializers.Serializer):
    course = serializers.CharField(max_length=120)
    held_on = serializers.DateField()
    hours = serializers.DecimalField(max_digits=5, decimal_places=1)
    source = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")


class MemberStudy(APIView):
    @extend_schema(
        request=StudyWriteSerializer,
        responses={
            201: inline_serializer(
                "StudyOut",
                {"id": serializers.IntegerField(), "year_total": serializers.DecimalField(6, 1)},
            )
        },
    )
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        record = services.study_record_add(
            actor=request.user, member=member, **_valid(StudyWriteSerializer, request.data)
        )
        total = selectors.member_study_total(member=member, year=record.held_on.year)["hours"]
        return Response({"id": record.pk, "year_total": total}, status=status.HTTP_201_CREATED)


class StudyQuerySerializer(serializers.Serializer):
    org = serializers.IntegerField()
    year = serializers.IntegerField(min_value=1990, max_value=2100, required=False)


class StudyBranchSerializer(serializers.Serializer):
    branch = serializers.IntegerField(source="branch.pk")
    branch_name = serializers.CharField(source="branch.name")
    members = serializers.IntegerField()
    met = serializers.IntegerField()
    rate = serializers.IntegerField(help_text="达标率（%）")
    hours = serializers.DecimalField(max_digits=10, decimal_places=1)
    average = serializers.DecimalField(max_digits=8, decimal_places=1)
    leaders = serializers.IntegerField()
    leaders_met = serializers.IntegerField()


class StudySubtree(APIView):
    """Yearly study hours per branch across `org`'s subtree (32 hours for members, 56 for
    secretaries and committee members)."""

    @extend_schema(
        parameters=[OpenApiParameter("org", int, required=True), OpenApiParameter("year", int)],
        responses=StudyBranchSerializer(many=True),
    )
    def get(self, request):
        require_capability(request.user, "view")
        params = _valid(StudyQuerySerializer, request.query_params)
        org = get_org_or_404(request.user, params["org"])
        rows = selectors.study_subtree(
            user=request.user, org=org, year=params.get("year") or local_today().year
        )
        return Response(StudyBranchSerializer(rows, many=True).data)


class MemberMeSerializer(serializers.Serializer):
    member = MemberSerializer()
    dues = DuesMonthSerializer(many=True)
    arrears_months = serializers.IntegerField()
    study_hours = serializers.DecimalField(max_digits=6, decimal_places=1)
    study_required = serializers.DecimalField(max_digits=6, decimal_places=1)


class MemberMe(APIView):
    """The signed-in user's own record, this year's dues and study hours."""

    @extend_schema(responses=MemberMeSerializer)
    def get(self, request):
        member = getattr(request.user, "member", None)
        if member is None:
            raise Http404("未找到您的党员档案。")
        year = local_today().year
        study = selectors.member_study_total(member=member, year=year)
        return Response(
            MemberMeSerializer(
                {
                    "member": member,
                    "dues": selectors.dues_member_ledger(member=member, year=year),
                    "arrears_months": services.dues_arrears_months(member=member),
                    "study_hours": study["hours"],
                    "study_required": study["required"],
                }
            ).data
        )


class TransferSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "member",
            "kind",
            "state",
            "state_display",
            "source_branch",
            "target_org",
            "target_branch",
            "external_org",
            "reason",
            "applied_on",
            "valid_until",
            "letter_number",
            "dues_paid_until",
            "receipt_returned_on",
        ]


class TransferStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["internal", "out_letter"])
    applied_on = serializers.DateField(required=False)
    target_org = serializers.IntegerField(required=False, allow_null=True)
    external_org = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TransferList(generics.ListAPIView):
    """Transfers the user's subtree is involved in (as source or target)."""

    serializer_class = TransferSerializer
    filter_backends: list = []

    def get_queryset(self):
        require_capability(self.request.user, "view")
        return selectors.transfers_visible_to(self.request.user).order_by("-applied_on", "-id")


class MemberTransferStart(APIView):
    @extend_schema(request=TransferStartSerializer, responses={201: TransferSerializer})
    def post(self, request, id: int):
        from apps.organizations.models import Org

        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        data = dict(_valid(TransferStartSerializer, request.data))
        target = None
        if data.get("target_org"):
            target = Org.objects.filter(pk=data["target_org"], abolished_on__isnull=True).first()
            if target is None:
                raise ValidationError({"target_org": ["找不到该党组织。"]})
        t = services.member_transfer_start(
            actor=request.user,
            member=member,
            kind=data["kind"],
            applied_on=data.get("applied_on") or local_today(),
            target_org=target,
            external_org=data["external_org"],
            reason=data["reason"],
        )
        return Response(TransferSerializer(t).data, status=status.HTTP_201_CREATED)


class TransferActSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="说明；退回时必填原因",
    )
    target_branch = serializers.IntegerField(required=False)
    letter_number = serializers.CharField(required=False, allow_blank=True)
    dues_paid_until = serializers.CharField(required=False, allow_blank=True, help_text="2026-07")


class TransferAct(APIView):
    """approve (source committee), letter, receipt, accept (target), reject (target, `note`
    = the reason, required), withdraw."""

    @extend_schema(
        request=TransferActSerializer,
        responses=TransferSerializer,
        operation_id="members_transfer_act",
    )
    def post(self, request, id: int, action: str):
        transfer = selectors.transfers_visible_to(request.user).filter(pk=id).first()
        if transfer is None:
            raise Http404("未找到。")
        data = _valid(TransferActSerializer, request.data)
        return Response(
            TransferSerializer(
                transfer_run(actor=request.user, transfer=transfer, action=action, data=data)
            ).data
        )


class XlsxRenderer(BaseRenderer):
    """Lets a client ask for the workbook by `Accept`; errors still go out as JSON."""

    media_type = XLSX
    format = "xlsx"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class ExportQuerySerializer(OrgQuerySerializer):
    reveal = serializers.BooleanField(
        required=False, default=False, help_text="导出完整身份证号和电话（需权限并说明原因）"
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RosterExport(APIView):
    """The roster of `org`'s subtree (default: the user's topmost org) as .xlsx, the same
    workbook as the export page: masked unless `reveal` with a `reason` by a user who may
    reveal (403 otherwise). Every export is audited."""

    renderer_classes = [JSONRenderer, XlsxRenderer]

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, XLSX): OpenApiTypes.BINARY},
    )
    def get(self, request):
        require_capability(request.user, "view")
        params = _valid(ExportQuerySerializer, request.query_params)
        org = params.get("org")
        org = export_org(
            request.user, get_org_or_404(request.user, org) if org is not None else None
        )
        data = roster.roster_export(
            actor=request.user, org=org, reveal=params["reveal"], reason=params["reason"]
        )
        return roster_export_response(data, org)


class WaiverSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    branch = serializers.IntegerField(source="member.branch_id", read_only=True)
    branch_name = serializers.CharField(source="member.branch.name", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = DuesWaiver
        fields = [
            "id",
            "member",
            "member_name",
            "branch",
            "branch_name",
            "first_month",
            "last_month",
            "monthly_amount",
            "reason",
            "state",
            "state_display",
            "decided_on",
        ]
        read_only_fields = fields


class WaiverWriteSerializer(serializers.Serializer):
    first_month = serializers.DateField(help_text="该月任一日期，如 2026-07-01")
    last_month = serializers.DateField()
    monthly_amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    reason = serializers.CharField(max_length=300)


class WaiverList(generics.ListAPIView):
    """党费减免 requests in scope (`state`: requested, approved, rejected)."""

    serializer_class = WaiverSerializer
    queryset = DuesWaiver.objects.none()  # for the schema; get_queryset scopes the real one

    @extend_schema(parameters=[OpenApiParameter("state", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        require_capability(self.request.user, "view")
        return selectors.waivers_visible_to(
            self.request.user, state=self.request.query_params.get("state", "")
        )


class MemberWaiverRequest(APIView):
    @extend_schema(request=WaiverWriteSerializer, responses={201: WaiverSerializer})
    def post(self, request, id: int):
        member = _member(request, id)
        require_any(request.user, member.branch, ("branch_write",))
        waiver = services.dues_waiver_request(
            actor=request.user, member=member, **_valid(WaiverWriteSerializer, request.data)
        )
        return Response(WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)


class WaiverDecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()


class WaiverDecide(APIView):
    """The superior committee approves (`approve: true`) or rejects a pending 减免 request."""

    @extend_schema(request=WaiverDecideSerializer, responses={200: WaiverSerializer})
    def post(self, request, id: int):
        waiver = get_scoped_or_404(
            DuesWaiver.objects.select_related("member__branch"),
            request.user,
            path_field="member__branch__path",
            pk=id,
        )
        require_any(request.user, waiver.member.branch, ("superior",))
        data = _valid(WaiverDecideSerializer, request.data)
        waiver = services.dues_waiver_decide(
            actor=request.user, waiver=waiver, approve=data["approve"]
        )
        return Response(WaiverSerializer(waiver).data)


urlpatterns = [
    path("members/", MemberList.as_view()),
    path("members/me/", MemberMe.as_view()),
    path("members/apply/", DevelopmentApply.as_view()),
    path("members/due/", DueList.as_view()),
    path("members/pipeline/", Pipeline.as_view()),
    path("members/pending/", PendingList.as_view()),
    path("members/pending/<int:id>/resolve/", PendingResolve.as_view()),
    path("members/dues/", DuesSheet.as_view()),
    path("members/study/", StudySubtree.as_view()),
    path("members/dues/waivers/", WaiverList.as_view()),
    path("members/dues/waivers/<int:id>/decide/", WaiverDecide.as_view()),
    path("members/export/", RosterExport.as_view()),
    path("members/transfers/", TransferList.as_view()),
    path("members/transfers/<int:id>/<str:action>/", TransferAct.as_view()),
    path("members/<int:id>/", MemberDetail.as_view()),
    path("members/<int:id>/lifecycle/", MemberLifecycle.as_view()),
    path("members/<int:id>/timeline/", MemberTimeline.as_view()),
    path("members/<int:id>/contacts/", MemberContacts.as_view()),
    path("members/<int:id>/photo/", MemberPhoto.as_view()),
    path("members/<int:id>/steps/", MemberSteps.as_view()),
    path("members/<int:id>/dues/base/", MemberDuesBase.as_view()),
    path("members/<int:id>/dues/payments/", MemberDuesPayment.as_view()),
    path("members/<int:id>/dues/waivers/", MemberWaiverRequest.as_view()),
    path("members/<int:id>/study/", MemberStudy.as_view()),
    path("members/<int:id>/transfers/", MemberTransferStart.as_view()),
]

__all__ = ["WRITE", "urlpatterns"]
