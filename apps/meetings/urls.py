from django.urls import path

from apps.meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.calendar_view, name="calendar"),
    path("mine/", views.mine_view, name="mine"),
    path("plan/", views.plan_view, name="plan"),
    path("review/", views.review_list, name="review"),
    path("compliance/", views.compliance_view, name="compliance"),
    path("exemptions/", views.exemptions_view, name="exemptions"),
    path("exemptions/<int:pk>/revoke/", views.exemption_revoke_view, name="exemption_revoke"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/record/", views.record_view, name="record"),
    path("<int:pk>/attendees/", views.attendees_view, name="attendees"),
    path("<int:pk>/attendance/<int:member_id>/", views.attendance_tap, name="attendance_tap"),
    path("<int:pk>/counters/", views.counters_fragment, name="counters"),
    path("<int:pk>/appraisals/", views.appraisals_view, name="appraisals"),
    path("<int:pk>/criticism/", views.criticism_view, name="criticism"),
    path("<int:pk>/votes/", views.vote_add, name="vote_add"),
    path("<int:pk>/elections/", views.election_add, name="election_add"),
    path("<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/submit/", views.submit_view, name="submit"),
    path("<int:pk>/cancel/", views.cancel_view, name="cancel"),
    path("<int:pk>/accept/", views.review_action, {"action": "accept"}, name="accept"),
    path("<int:pk>/return/", views.review_action, {"action": "return"}, name="return"),
]
