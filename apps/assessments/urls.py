from django.urls import path

from apps.assessments import views

app_name = "assessments"
urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/new/", views.cycle_new, name="cycle_new"),
    path("cycles/<int:pk>/", views.cycle_detail, name="cycle"),
    path("cycles/<int:pk>/<slug:action>/", views.cycle_action, name="cycle_action"),
    path("scorecards/<int:pk>/", views.scorecard, name="scorecard"),
    path("scorecards/<int:pk>/<slug:action>/", views.scorecard_action, name="scorecard_action"),
    path("duty-reports/<int:pk>/", views.duty_report, name="duty_report"),
    path("duty-reports/<int:pk>/vote/", views.duty_report_vote, name="duty_report_vote"),
    path("problems/<int:pk>/", views.problem, name="problem"),
    path("problems/<int:pk>/<slug:action>/", views.problem_action, name="problem_action"),
    path("stars/<int:pk>/change/", views.star_change, name="star_change"),
    path("weak/", views.weak_orgs, name="weak_orgs"),
    path("weak/designate/", views.weak_designate, name="weak_designate"),
    path("weak/screen/", views.weak_screen, name="weak_screen"),
    path("weak/<int:pk>/", views.weak_org, name="weak_org"),
    path("weak/<int:pk>/<slug:action>/", views.weak_org_action, name="weak_org_action"),
    path("templates/<int:pk>/", views.template_detail, name="template"),
    path("templates/<int:pk>/<slug:action>/", views.template_action, name="template_action"),
]
