from django.urls import path

from apps.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.home, name="home"),
    path("org/<int:pk>/", views.org_dashboard, name="org"),
    path("org/<int:pk>/export/<slug:section>.xlsx", views.export, name="export"),
]
