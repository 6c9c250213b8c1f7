from django.urls import path

from apps.members import views

app_name = "members"
urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("me/", views.me, name="me"),
    path("<int:pk>/", views.member_detail, name="detail"),
    path("<int:pk>/edit/", views.member_edit, name="edit"),
    path("<int:pk>/action/<str:action>/", views.member_action, name="action"),
    path("<int:pk>/step/", views.development_step, name="step"),
    path("<int:pk>/dues/", views.dues_member, name="dues_member"),
    path("<int:pk>/study/", views.study_add, name="study_add"),
    path("<int:pk>/transfer/", views.transfer_start, name="transfer_start"),
    path("<int:pk>/contact/", views.contact_add, name="contact_add"),
    path("<int:pk>/pending/<int:item_id>/", views.pending_resolve, name="pending_resolve"),
    path("apply/", views.development_apply, name="apply"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("due/", views.due_list, name="due"),
    path("dues/", views.dues, name="dues"),
    path("dues/<int:pk>/mark/", views.dues_mark, name="dues_mark"),
    path("dues/<int:pk>/unmark/", views.dues_unmark, name="dues_unmark"),
    path("dues/waivers/", views.waivers, name="waivers"),
    path("dues/waivers/<int:pk>/decide/", views.waiver_decide, name="waiver_decide"),
    path("<int:pk>/dues/waiver/", views.waiver_request, name="waiver_request"),
    path("study/", views.study, name="study"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/<int:pk>/<str:action>/", views.transfer_act, name="transfer_act"),
    path("import/", views.roster_import, name="import"),
    path("export/", views.roster_export, name="export"),
]
