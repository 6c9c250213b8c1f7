from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scope import get_org_or_404
from apps.core.periods import Period, PeriodKind
from apps.dashboards.views import org_for_dashboard
from apps.reports import selectors, services


def _report(r) -> dict:
    return {
        "id": r.pk,
        "org": r.org_id,
        "quarter": r.period_key,
        "version": r.version,
        "is_current": r.is_current,
        "title": r.title,
        "members_as_of": r.members_as_of,
        "created_at": r.created_at,
        "pdf": reverse("reports:download", args=[r.pk, "pdf"]),
        "xlsx": reverse("reports:download", args=[r.pk, "xlsx"]),
    }


class ReportListAPI(APIView):
    """Every version of an org's reports for a quarter (or all quarters), newest first."""

    @extend_schema(
        parameters=[
            OpenApiParameter("org", int, required=True, description="党组织 id"),
            OpenApiParameter("quarter", str, description="季度，如 2026-Q3"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        if not request.query_params.get("org"):
            raise ValidationError({"org": ["请指定党组织。"]})
        org = org_for_dashboard(request.user, request.query_params["org"])
        qs = (
            selectors.reports_visible_to(request.user)
            .filter(org=org)
            .order_by("-year", "-quarter", "-version")
        )
        if request.query_params.get("quarter"):
            try:
                period = Period.parse(request.query_params["quarter"])
            except ValueError as exc:
                raise ValidationError({"quarter": [str(exc)]}) from exc
            if period.kind != PeriodKind.QUARTER:
                raise ValidationError({"quarter": ["请选择季度（如 2026-Q3）。"]})
            qs = qs.filter(year=period.year, quarter=period.index)
        return Response({"results": [_report(r) for r in qs[:200]]})


class BuildSerializer(serializers.Serializer):
    org = serializers.IntegerField()
    quarter = serializers.CharField()
    scope = serializers.ChoiceField(choices=["self", "subtree"], default="self")


class ReportBuildAPI(APIView):
    """Start building reports on demand; returns the batch to poll."""

    @extend_schema(request=BuildSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        data = BuildSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = get_org_or_404(request.user, data.validated_data["org"])
        try:
            period = Period.parse(data.validated_data["quarter"])
        except ValueError as exc:
            raise ValidationError({"quarter": [str(exc)]}) from exc
        batch = services.report_batch_start(
            actor=request.user,
            org=org,
            period=period,
            single=data.validated_data["scope"] == "self",
        )
        return Response(
            {"batch": batch.pk, **selectors.batch_progress(batch)}, status=status.HTTP_202_ACCEPTED
        )


class BatchAPI(APIView):
    """Progress of a batch: total, done, failed, running, pending."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        batch = selectors.batch_for(request.user, pk)
        return Response(
            {
                "batch": batch.pk,
                "quarter": batch.period_key,
                "root": batch.root_id,
                **selectors.batch_progress(batch),
            }
        )


urlpatterns = [
    path("reports/", ReportListAPI.as_view(), name="reports-list"),
    path("reports/build/", ReportBuildAPI.as_view(), name="reports-build"),
    path("reports/batches/<int:pk>/", BatchAPI.as_view(), name="reports-batch"),
]
