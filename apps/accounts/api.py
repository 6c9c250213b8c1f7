"""REST endpoints of accounts: token sign-in, the signed-in user (me), users and role grants."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import Role, RoleGrant, User
from apps.accounts.scope import ALL_CAPABILITIES, get_org_or_404, require_capability, scope_of
from apps.core.models import AuditAction, AuditEntry
from apps.core.reveal_api import RevealView

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


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(label="原密码", trim_whitespace=False)
    new_password = serializers.CharField(label="新密码", trim_whitespace=False)


class MePasswordView(APIView):
    """Change one's own password."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_change(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- users and grants (系统管理员) ------------------------------------------------------------


class GrantSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = RoleGrant
        fields = ["id", "user", "username", "org", "org_name", "role", "role_display", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"user": {"queryset": User.objects.all()}}

    def to_internal_value(self, data):
        # Plain ids: the service resolves them through the scope (404 outside, like a missing id).
        errors = {}
        values = {}
        for name in ("user", "org"):
            try:
                values[name] = int(data.get(name))
            except (TypeError, ValueError):
                errors[name] = ["请填写有效的编号。"]
        role = data.get("role")
        if role not in Role.values:
            errors["role"] = ["请选择有效的角色。"]
        if errors:
            raise serializers.ValidationError(errors)
        values["role"] = role
        return values


class UserSerializer(serializers.ModelSerializer):
    grants = GrantSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "phone_masked",
            "is_active",
            "last_login",
            "grants",
        ]
        read_only_fields = fields


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(label="用户名", max_length=150)
    full_name = serializers.CharField(label="姓名", max_length=64)
    phone = serializers.CharField(
        label="手机号", max_length=20, required=False, allow_blank=True, default=""
    )
    password = serializers.CharField(label="初始密码", trim_whitespace=False)


class UserUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(label="姓名", max_length=64, required=False)
    phone = serializers.CharField(label="手机号", max_length=20, required=False, allow_blank=True)


class PasswordResetSerializer(serializers.Serializer):
    password = serializers.CharField(label="新密码", trim_whitespace=False)


class UserFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", label="姓名、用户名或手机号（精确）")
    is_active = filters.BooleanFilter()

    class Meta:
        model = User
        fields = ["is_active"]

    def search(self, queryset, name, value):
        return queryset & selectors.user_search(self.request.user, q=value)


@extend_schema_view(
    partial_update=extend_schema(request=UserUpdateSerializer, responses=UserSerializer),
    create=extend_schema(request=UserCreateSerializer, responses={201: UserSerializer}),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Users managed by the signed-in 系统管理员 (their subtree; see docs/decisions/0002)."""

    serializer_class = UserSerializer
    filterset_class = UserFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return (
            selectors.users_manageable_by(self.request.user)
            .prefetch_related("grants__org")
            .order_by("username")
        )

    def list(self, request, *args, **kwargs):
        require_capability(request.user, "admin_users")
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        user = self.get_object()
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = services.user_deactivate(actor=request.user, user=self.get_object())
        return Response(UserSerializer(user).data)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        user = services.user_activate(actor=request.user, user=self.get_object())
        return Response(UserSerializer(user).data)

    @extend_schema(request=PasswordResetSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="password")
    def password(self, request, pk=None):
        user = self.get_object()
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset(actor=request.user, user=user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GrantFilter(filters.FilterSet):
    class Meta:
        model = RoleGrant
        fields = ["user", "org", "role"]


class GrantViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Role grants at nodes of the signed-in 系统管理员's subtree."""

    serializer_class = GrantSerializer
    filterset_class = GrantFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoleGrant.objects.none()
        return selectors.grants_visible_to(self.request.user).order_by(
            "org__path", "user__username", "role"
        )

    def list(self, request, *args, **kwargs):
        require_capability(request.user, "admin_users")
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        require_capability(request.user, "admin_users")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = get_org_or_404(request.user, data["org"], "admin_users")
        user = selectors.users_manageable_by(request.user).filter(pk=data["user"]).first()
        if user is None:
            from django.http import Http404

            raise Http404("未找到。")
        grant = services.role_grant(actor=request.user, user=user, org=org, role=data["role"])
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.role_revoke(actor=request.user, grant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- audit log ------------------------------------------------------------------------------


class AuditEntrySerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    org_name = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "action",
            "action_display",
            "verb",
            "object_type",
            "object_id",
            "object_repr",
            "org",
            "org_name",
            "changes",
            "reason",
            "ip",
        ]
        read_only_fields = fields

    def get_org_name(self, entry) -> str:
        return entry.org.name if entry.org_id else ""


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("action", str, enum=AuditAction.values),
            OpenApiParameter("object_type", str),
            OpenApiParameter("object_id", str),
            OpenApiParameter("actor", int),
            OpenApiParameter("date_from", str, description="YYYY-MM-DD（北京时间）"),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD（北京时间）"),
        ]
    )
)
class AuditViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log of the signed-in 系统管理员's subtree."""

    serializer_class = AuditEntrySerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        if self.action == "list":
            from apps.accounts.forms import AuditFilterForm

            form = AuditFilterForm(self.request.query_params)
            if not form.is_valid():
                from django.core.exceptions import ValidationError

                raise ValidationError(form.errors.as_data())
            return selectors.audit_search(self.request.user, **form.search_kwargs())
        return selectors.audit_entries_visible_to(self.request.user).select_related("org")

    def list(self, request, *args, **kwargs):
        require_capability(request.user, "audit_view")
        return super().list(request, *args, **kwargs)


router = SimpleRouter()
router.register("users", UserViewSet, basename="api-user")
router.register("grants", GrantViewSet, basename="api-grant")
router.register("audit", AuditViewSet, basename="api-audit")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("me/password/", MePasswordView.as_view(), name="api-me-password"),
    path("reveal/", RevealView.as_view(), name="api-reveal"),
    *router.urls,
]
