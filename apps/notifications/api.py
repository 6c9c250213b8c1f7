"""REST endpoints: the signed-in user's inbox and notification preferences."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.notifications import selectors, services
from apps.notifications.models import InboxItem


class InboxItemSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = InboxItem
        fields = ["id", "title", "body", "url", "level", "created_at", "read_at", "is_read"]


class InboxList(generics.ListAPIView):
    """The signed-in user's inbox, newest first (`?unread=1`: unread only)."""

    serializer_class = InboxItemSerializer
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="只看未读")])
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.data["unread"] = selectors.unread_count(user=request.user)
        return response

    def get_queryset(self):
        unread_only = self.request.query_params.get("unread") in {"1", "true"}
        return selectors.inbox_for(user=self.request.user, unread_only=unread_only)


class InboxRead(APIView):
    """Mark one of the user's own inbox items read."""

    @extend_schema(request=None, responses=InboxItemSerializer)
    def post(self, request, pk: int):
        return Response(
            InboxItemSerializer(services.inbox_mark_read(user=request.user, item_id=pk)).data
        )


class InboxReadAll(APIView):
    """Mark every inbox item of the user read."""

    @extend_schema(
        request=None,
        responses=inline_serializer("InboxReadAll", {"marked": serializers.IntegerField()}),
    )
    def post(self, request):
        return Response({"marked": services.inbox_mark_all_read(user=request.user)})


class PreferencesSerializer(serializers.Serializer):
    inbox = serializers.BooleanField(required=False, help_text="站内信（不能关闭）")
    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)


class Preferences(APIView):
    """Which channels the user receives reminders on."""

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return Response(selectors.preferences_of(user=request.user))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def patch(self, request):
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            services.preferences_set(user=request.user, values=serializer.validated_data)
        )


urlpatterns = [
    path("notifications/inbox/", InboxList.as_view(), name="notifications-inbox"),
    path(
        "notifications/inbox/read-all/", InboxReadAll.as_view(), name="notifications-inbox-read-all"
    ),
    path(
        "notifications/inbox/<int:pk>/read/", InboxRead.as_view(), name="notifications-inbox-read"
    ),
    path("notifications/preferences/", Preferences.as_view(), name="notifications-preferences"),
]
