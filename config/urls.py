from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import private_media

# Each app owns `urls.py` (pages) and `api.py` (REST endpoints under /api/v1/).
APPS = [
    "accounts",
    "organizations",
    "members",
    "meetings",
    "assessments",
    "notifications",
    "reports",
    "dashboards",
]

api_patterns = [path("", include(f"apps.{name}.api")) for name in APPS]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_patterns)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.core.urls")),
    *[path(f"{name}/", include(f"apps.{name}.urls")) for name in APPS],
]

# Uploaded files are never served as static files: every request goes through the scoping door.
urlpatterns.insert(0, path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", private_media))
