from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.dashboards.views import org_for_dashboard, quarter_param, sections_for_request


class OrgDashboardAPI(APIView):
    """The figures of one org's dashboard: the same sections as the page and its downloads."""

    @extend_schema(
        parameters=[OpenApiParameter("quarter", str, description="季度，如 2026-Q3（默认本季度）")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, pk: int):
        org = org_for_dashboard(request.user, pk)
        try:
            period = quarter_param(request.query_params.get("quarter"))
        except ValueError as exc:
            raise ValidationError({"quarter": [str(exc)]}) from exc
        ctx, sections = sections_for_request(org, period)
        return Response(
            {
                "org": {
                    "id": org.pk,
                    "name": org.name,
                    "org_type": org.org_type,
                    "parent": org.parent_id,
                },
                "quarter": period.key,
                "members_as_of": ctx.as_of.isoformat() if ctx.as_of else None,
                "sections": [s.as_dict() for s in sections],
            }
        )


urlpatterns = [path("dashboards/orgs/<int:pk>/", OrgDashboardAPI.as_view(), name="dashboards-org")]
