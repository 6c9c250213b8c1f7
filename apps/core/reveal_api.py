"""API side of personal-data reveal (apps/core/reveal.py): the generic endpoint and a helper
for viewset actions. Kept out of apps/core/api.py, which DRF's settings import early."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class RevealSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='registered model label, e.g. "members.member"')
    id = serializers.IntegerField()
    field = serializers.CharField()
    reason = serializers.CharField(allow_blank=True, required=False, default="")


RevealResponse = inline_serializer("RevealResponse", {"value": serializers.CharField()})


def reveal_api_response(request, obj) -> Response:
    """Body {"field", "reason"} → {"value"}: reuse in a viewset's `@action(detail=True,
    methods=["post"]) def reveal(...)` after loading `obj` through the scope."""
    from apps.core.reveal import personal_data_reveal

    value = personal_data_reveal(
        actor=request.user,
        obj=obj,
        field=str(request.data.get("field", "")),
        reason=str(request.data.get("reason", "")),
    )
    return Response({"value": value})


class RevealView(APIView):
    """Reveal one personal-data field in full (needs `reveal` on the object's org and a reason;
    audited). Outside the caller's scope: 404."""

    @extend_schema(request=RevealSerializer, responses={200: RevealResponse})
    def post(self, request):
        from apps.core.reveal import load_revealable

        serializer = RevealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = load_revealable(
            request.user, serializer.validated_data["object"], serializer.validated_data["id"]
        )
        return reveal_api_response(request, obj)
