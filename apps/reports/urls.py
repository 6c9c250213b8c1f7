from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("build/", views.report_build, name="build"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/<str:kind>/", views.report_download, name="download"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/retry/", views.batch_retry, name="batch_retry"),
]
