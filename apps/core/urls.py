from django.urls import path

from apps.core import views

app_name = "core"
urlpatterns = [
    path("", views.root, name="root"),
    path("healthz", views.health, name="health"),
    path("settings/rules/", views.rule_list, name="rules"),
    path("reveal/<str:label>/<int:pk>/<str:field>/", views.reveal, name="reveal"),
]
