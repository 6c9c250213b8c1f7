from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("home/", views.home, name="home"),
    path("password/", views.password_change, name="password"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/password/", views.user_password, name="user_password"),
    path("users/<int:pk>/active/", views.user_active, name="user_active"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("audit/", views.audit_list, name="audit"),
]
