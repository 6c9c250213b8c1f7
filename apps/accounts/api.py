"""REST endpoints of accounts: token sign-in, the signed-in user (me), users and role grants."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.scope import ALL_CAPABILITIES, scope_of

SIGN_IN_ERROR = "用户名（手机号）或密码不正确。"


class GrantBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    org_id = serializers.IntegerField()
    org_name = serializers.CharField(source="org.name")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    phone_masked = serializers.CharField()
    grants = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()

    def get_grants(self, user) -> list[dict]:
        grants = user.grants.select_related("org").order_by("org__path", "role")
        return GrantBriefSerializer(grants, many=True).data

    def get_capabilities(self, user) -> list[str]:
        scope = scope_of(user)
        return sorted(cap for cap in ALL_CAPABILITIES if scope.has(cap))


class MeView(APIView):
    """The signed-in user, their role grants and capabilities."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenSignInSerializer(serializers.Serializer):
    username = serializers.CharField(label="用户名或手机号", max_length=150)
    password = serializers.CharField(label="密码", trim_whitespace=False, max_length=128)


class TokenView(APIView):
    """Sign in with username (or phone) and password; answers an API token. Throttled and
    audited like the sign-in page."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=TokenSignInSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request):
        serializer = TokenSignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        user = authenticate(
            request, username=username, password=serializer.validated_data["password"]
        )
        if user is None:
            services.sign_in_failed_audit(username=username, request=request)
            return Response(
                {"non_field_errors": [SIGN_IN_ERROR]}, status=status.HTTP_400_BAD_REQUEST
            )
        token = services.token_sign_in(user=user, request=request)
        return Response({"token": token})


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
]
