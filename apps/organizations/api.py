"""REST endpoints of the organization tree (/api/v1/orgs/...), calling the same services and
the same access checks (apps.organizations.access) as the pages."""

from __future__ import annotations

from django.db.models import Q
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import scope
from apps.core.periods import local_today
from apps.organizations import access, selectors, services
from apps.organizations.models import (
    CommitteePosition,
    Org,
    OrgCategory,
    OrgType,
    Position,
    SetupForm,
    Term,
)
from apps.organizations.rules import term_status

# --- serializers ---------------------------------------------------------------------------


class OrgSerializer(serializers.ModelSerializer):
    org_type_display = serializers.CharField(source="get_org_type_display", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)

    class Meta:
        model = Org
        fields = [
            "id",
            "name",
            "short_name",
            "code",
            "org_type",
            "org_type_display",
            "category",
            "category_display",
            "setup_form",
            "joint_units",
            "founded_on",
            "abolished_on",
            "merged_into",
            "parent",
            "depth",
            "numchild",
            "address",
            "contact_name",
            "contact_phone",
        ]
        read_only_fields = fields


class OrgChildSerializer(OrgSerializer):
    child_count = serializers.IntegerField(read_only=True)
    member_count = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(OrgSerializer.Meta):
        fields = [*OrgSerializer.Meta.fields, "child_count", "member_count"]
        read_only_fields = fields


class OrgWriteSerializer(serializers.Serializer):
    name = serializers.CharField(label="名称", max_length=120)
    short_name = serializers.CharField(
        label="简称", max_length=60, required=False, allow_blank=True
    )
    code = serializers.CharField(label="组织代码", max_length=40)
    org_type = serializers.ChoiceField(label="组织类型", choices=OrgType.choices)
    category = serializers.ChoiceField(
        label="组织类别", choices=OrgCategory.choices, required=False
    )
    setup_form = serializers.ChoiceField(
        label="组建方式", choices=SetupForm.choices, required=False
    )
    joint_units = serializers.ListField(
        label="联建单位", child=serializers.CharField(max_length=120), required=False, max_length=20
    )
    founded_on = serializers.DateField(label="成立日期", required=False, allow_null=True)
    address = serializers.CharField(label="地址", max_length=200, required=False, allow_blank=True)
    contact_name = serializers.CharField(
        label="联系人", max_length=40, required=False, allow_blank=True
    )
    contact_phone = serializers.CharField(
        label="联系电话", max_length=40, required=False, allow_blank=True
    )


class OrgCreateSerializer(OrgWriteSerializer):
    parent = serializers.IntegerField(label="上级组织")


class TargetSerializer(serializers.Serializer):
    on = serializers.DateField(label="生效日期", required=False)
    reason = serializers.CharField(
        label="原因", max_length=200, required=False, allow_blank=True, default=""
    )


class MoveSerializer(TargetSerializer):
    parent = serializers.IntegerField(label="新的上级组织")


class MergeSerializer(TargetSerializer):
    into = serializers.IntegerField(label="并入的组织")


class AbolishSerializer(TargetSerializer):
    pass


class WarningSerializer(serializers.Serializer):
    org_id = serializers.IntegerField()
    org_name = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    level = serializers.CharField()


class PositionSerializer(serializers.ModelSerializer):
    position_display = serializers.CharField(source="get_position_display", read_only=True)
    member_name = serializers.CharField(source="member.name", read_only=True)

    class Meta:
        model = CommitteePosition
        fields = [
            "id",
            "org",
            "member",
            "member_name",
            "position",
            "position_display",
            "started_on",
            "ended_on",
            "term",
        ]
        read_only_fields = fields


class PositionAssignSerializer(serializers.Serializer):
    member = serializers.IntegerField(label="党员")
    position = serializers.ChoiceField(label="职务", choices=Position.choices)
    started_on = serializers.DateField(label="任职日期")


class PositionEndSerializer(serializers.Serializer):
    ended_on = serializers.DateField(label="离任日期")
    reason = serializers.CharField(
        label="原因", max_length=200, required=False, allow_blank=True, default=""
    )


class TermSerializer(serializers.ModelSerializer):
    display_state = serializers.SerializerMethodField()
    display_label = serializers.SerializerMethodField()

    class Meta:
        model = Term
        fields = [
            "id",
            "org",
            "number",
            "elected_on",
            "term_years",
            "ends_on",
            "state",
            "display_state",
            "display_label",
            "extension_until",
            "request_submitted_on",
            "request_approved_on",
            "election_held_on",
            "result_approved_on",
            "note",
        ]
        read_only_fields = fields

    def get_display_state(self, term) -> str:
        return term_status(term, local_today()).code

    def get_display_label(self, term) -> str:
        return term_status(term, local_today()).label


class TermStartSerializer(serializers.Serializer):
    elected_on = serializers.DateField(label="选举日期")
    term_years = serializers.IntegerField(
        label="任期（年）", min_value=1, max_value=10, required=False, allow_null=True
    )
    note = serializers.CharField(
        label="备注", max_length=300, required=False, allow_blank=True, default=""
    )


class TermDateSerializer(serializers.Serializer):
    on = serializers.DateField(label="日期")


class TermExtendSerializer(serializers.Serializer):
    until = serializers.DateField(label="延期至")
    reason = serializers.CharField(
        label="延期原因", max_length=300, required=False, allow_blank=True, default=""
    )


def _valid(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _org(request, pk, capability: str = "view") -> Org:
    return scope.get_org_or_404(request.user, pk, capability)


# --- orgs ------------------------------------------------------------------------------------


class OrgListView(GenericAPIView):
    """党组织 within the user's scope. Filters: parent, org_type, category, q (name or code),
    include_abolished."""

    serializer_class = OrgSerializer
    queryset = Org.objects.none()
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("parent", OpenApiTypes.INT, description="上级组织 id"),
            OpenApiParameter("org_type", OpenApiTypes.STR, enum=OrgType.values),
            OpenApiParameter("category", OpenApiTypes.STR, enum=OrgCategory.values),
            OpenApiParameter("q", OpenApiTypes.STR, description="名称包含或组织代码开头"),
            OpenApiParameter("include_abolished", OpenApiTypes.BOOL),
        ],
        responses=OrgSerializer(many=True),
    )
    def get(self, request):
        qs = scope.orgs_visible_to(request.user).select_related(None)
        params = request.query_params
        if params.get("parent"):
            parent = _org(request, params["parent"])
            qs = qs.filter(parent=parent)
        if params.get("org_type"):
            qs = qs.filter(org_type=params["org_type"])
        if params.get("category"):
            qs = qs.filter(category=params["category"])
        if params.get("q"):
            qs = qs.filter(Q(name__icontains=params["q"]) | Q(code__istartswith=params["q"]))
        if params.get("include_abolished", "").lower() not in {"1", "true", "yes"}:
            qs = qs.filter(abolished_on__isnull=True)
        page = self.paginate_queryset(qs.order_by("path"))
        return self.get_paginated_response(OrgSerializer(page, many=True).data)

    @extend_schema(request=OrgCreateSerializer, responses={201: OrgSerializer})
    def post(self, request):
        data = _valid(OrgCreateSerializer, request)
        parent = _org(request, data.pop("parent"))
        access.require_tree_admin(request.user, parent)
        org = services.org_create(actor=request.user, parent=parent, **data)
        return Response(OrgSerializer(org).data, status=status.HTTP_201_CREATED)


class OrgDetailView(APIView):
    @extend_schema(responses=OrgSerializer)
    def get(self, request, pk: int):
        return Response(OrgSerializer(_org(request, pk)).data)

    @extend_schema(request=OrgWriteSerializer, responses=OrgSerializer)
    def patch(self, request, pk: int):
        org = _org(request, pk)
        access.require_tree_admin(request.user, org)
        data = _valid(OrgWriteSerializer, request, partial=True)
        org = services.org_update(actor=request.user, org=org, **data)
        return Response(OrgSerializer(org).data)


class OrgMoveView(APIView):
    @extend_schema(request=MoveSerializer, responses=OrgSerializer)
    def post(self, request, pk: int):
        org = _org(request, pk)
        access.require_tree_admin(request.user, org)
        data = _valid(MoveSerializer, request)
        target = _org(request, data["parent"])
        access.require_tree_admin(request.user, target)
        org = services.org_move(
            actor=request.user, org=org, new_parent=target, on=data.get("on"), reason=data["reason"]
        )
        return Response(OrgSerializer(org).data)


class OrgMergeView(APIView):
    @extend_schema(
        request=MergeSerializer, responses=OrgSerializer, description="Returns the org merged into."
    )
    def post(self, request, pk: int):
        org = _org(request, pk)
        access.require_tree_admin(request.user, org)
        data = _valid(MergeSerializer, request)
        target = _org(request, data["into"])
        access.require_tree_admin(request.user, target)
        into = services.org_merge(
            actor=request.user, org=org, into=target, on=data.get("on"), reason=data["reason"]
        )
        return Response(OrgSerializer(into).data)


class OrgAbolishView(APIView):
    @extend_schema(request=AbolishSerializer, responses=OrgSerializer)
    def post(self, request, pk: int):
        org = _org(request, pk)
        access.require_tree_admin(request.user, org)
        data = _valid(AbolishSerializer, request)
        org = services.org_abolish(
            actor=request.user, org=org, on=data.get("on"), reason=data["reason"]
        )
        return Response(OrgSerializer(org).data)


class OrgChildrenView(APIView):
    @extend_schema(responses=OrgChildSerializer(many=True))
    def get(self, request, pk: int):
        org = _org(request, pk)
        return Response(
            OrgChildSerializer(selectors.org_children(user=request.user, org=org), many=True).data
        )


class OrgWarningsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("subtree", OpenApiTypes.BOOL, description="包括全部下级组织")],
        responses=WarningSerializer(many=True),
    )
    def get(self, request, pk: int):
        org = _org(request, pk)
        today = local_today()
        if request.query_params.get("subtree", "").lower() in {"1", "true", "yes"}:
            rows = selectors.warnings_for_subtree(user=request.user, org=org, today=today)
        else:
            rows = [(org, selectors.warnings_for_org(org=org, today=today))]
        data = [
            {
                "org_id": node.pk,
                "org_name": node.name,
                "code": w.code,
                "message": w.message,
                "level": w.level,
            }
            for node, found in rows
            for w in found
        ]
        return Response(data)


# --- committee -------------------------------------------------------------------------------


class OrgPositionsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("all", OpenApiTypes.BOOL, description="包括已离任")],
        responses=PositionSerializer(many=True),
    )
    def get(self, request, pk: int):
        org = _org(request, pk)
        current_only = request.query_params.get("all", "").lower() not in {"1", "true", "yes"}
        return Response(
            PositionSerializer(
                selectors.org_positions(org=org, current_only=current_only), many=True
            ).data
        )

    @extend_schema(request=PositionAssignSerializer, responses={201: PositionSerializer})
    def post(self, request, pk: int):
        from apps.members.models import Member

        org = _org(request, pk)
        access.require_committee_write(request.user, org)
        data = _valid(PositionAssignSerializer, request)
        member = scope.get_scoped_or_404(
            Member.objects.select_related("branch"),
            request.user,
            path_field="branch__path",
            pk=data["member"],
        )
        held = services.committee_position_assign(
            actor=request.user,
            org=org,
            member=member,
            position=data["position"],
            started_on=data["started_on"],
        )
        return Response(PositionSerializer(held).data, status=status.HTTP_201_CREATED)


class PositionEndView(APIView):
    @extend_schema(request=PositionEndSerializer, responses=PositionSerializer)
    def post(self, request, pk: int):
        position = scope.get_scoped_or_404(
            CommitteePosition.objects.select_related("org", "member"),
            request.user,
            path_field="org__path",
            pk=pk,
        )
        access.require_committee_write(request.user, position.org)
        data = _valid(PositionEndSerializer, request)
        position = services.committee_position_end(actor=request.user, position=position, **data)
        return Response(PositionSerializer(position).data)


# --- terms -----------------------------------------------------------------------------------


class OrgTermsView(APIView):
    @extend_schema(responses=TermSerializer(many=True))
    def get(self, request, pk: int):
        org = _org(request, pk)
        return Response(TermSerializer(selectors.org_terms(org=org), many=True).data)

    @extend_schema(request=TermStartSerializer, responses={201: TermSerializer})
    def post(self, request, pk: int):
        org = _org(request, pk)
        access.require_committee_write(request.user, org)
        data = _valid(TermStartSerializer, request)
        term = services.term_start(actor=request.user, org=org, **data)
        return Response(TermSerializer(term).data, status=status.HTTP_201_CREATED)


def _term(request, pk) -> Term:
    return scope.get_scoped_or_404(
        Term.objects.select_related("org"), request.user, path_field="org__path", pk=pk
    )


class TermDetailView(APIView):
    @extend_schema(responses=TermSerializer)
    def get(self, request, pk: int):
        return Response(TermSerializer(_term(request, pk)).data)


def _term_step(request, pk: int, check, serializer_class, run) -> Response:
    term = _term(request, pk)
    check(request.user, term.org)
    data = _valid(serializer_class, request)
    return Response(TermSerializer(run(term, data)).data)


class TermSubmitView(APIView):
    @extend_schema(
        request=TermDateSerializer, responses=TermSerializer, description="提交换届请示（本组织）。"
    )
    def post(self, request, pk: int):
        return _term_step(
            request,
            pk,
            access.require_committee_write,
            TermDateSerializer,
            lambda term, d: services.term_request_submit(actor=request.user, term=term, on=d["on"]),
        )


class TermApproveView(APIView):
    @extend_schema(
        request=TermDateSerializer, responses=TermSerializer, description="批复换届请示（上级）。"
    )
    def post(self, request, pk: int):
        return _term_step(
            request,
            pk,
            access.require_term_approve,
            TermDateSerializer,
            lambda term, d: services.term_request_approve(
                actor=request.user, term=term, on=d["on"]
            ),
        )


class TermElectionView(APIView):
    @extend_schema(
        request=TermDateSerializer,
        responses=TermSerializer,
        description="登记换届选举（本组织）；on 为选举日期。",
    )
    def post(self, request, pk: int):
        return _term_step(
            request,
            pk,
            access.require_committee_write,
            TermDateSerializer,
            lambda term, d: services.term_election_record(
                actor=request.user, term=term, held_on=d["on"]
            ),
        )


class TermResultView(APIView):
    @extend_schema(
        request=TermDateSerializer,
        responses=TermSerializer,
        description="批复选举结果（上级）：本届结束，返回新一届。",
    )
    def post(self, request, pk: int):
        return _term_step(
            request,
            pk,
            access.require_term_approve,
            TermDateSerializer,
            lambda term, d: services.term_result_approve(actor=request.user, term=term, on=d["on"]),
        )


class TermExtendView(APIView):
    @extend_schema(
        request=TermExtendSerializer,
        responses=TermSerializer,
        description="批准延期换届（上级），一般不超过届满后1年。",
    )
    def post(self, request, pk: int):
        return _term_step(
            request,
            pk,
            access.require_term_approve,
            TermExtendSerializer,
            lambda term, d: services.term_extend(
                actor=request.user, term=term, until=d["until"], reason=d["reason"]
            ),
        )


urlpatterns = [
    path("orgs/", OrgListView.as_view(), name="api-orgs"),
    path("orgs/<int:pk>/", OrgDetailView.as_view(), name="api-org"),
    path("orgs/<int:pk>/move/", OrgMoveView.as_view(), name="api-org-move"),
    path("orgs/<int:pk>/merge/", OrgMergeView.as_view(), name="api-org-merge"),
    path("orgs/<int:pk>/abolish/", OrgAbolishView.as_view(), name="api-org-abolish"),
    path("orgs/<int:pk>/children/", OrgChildrenView.as_view(), name="api-org-children"),
    path("orgs/<int:pk>/warnings/", OrgWarningsView.as_view(), name="api-org-warnings"),
    path("orgs/<int:pk>/positions/", OrgPositionsView.as_view(), name="api-org-positions"),
    path("positions/<int:pk>/end/", PositionEndView.as_view(), name="api-position-end"),
    path("orgs/<int:pk>/terms/", OrgTermsView.as_view(), name="api-org-terms"),
    path("terms/<int:pk>/", TermDetailView.as_view(), name="api-term"),
    path("terms/<int:pk>/submit-request/", TermSubmitView.as_view(), name="api-term-submit"),
    path("terms/<int:pk>/approve-request/", TermApproveView.as_view(), name="api-term-approve"),
    path("terms/<int:pk>/record-election/", TermElectionView.as_view(), name="api-term-election"),
    path("terms/<int:pk>/approve-result/", TermResultView.as_view(), name="api-term-result"),
    path("terms/<int:pk>/extend/", TermExtendView.as_view(), name="api-term-extend"),
]
