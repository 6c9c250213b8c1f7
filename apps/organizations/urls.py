from django.urls import path

from apps.organizations import views

app_name = "organizations"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("search/", views.search, name="search"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/children/", views.children, name="children"),
    path("<int:pk>/warnings/", views.warnings, name="warnings"),
    path("<int:pk>/new/", views.create_child, name="create_child"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("<int:pk>/abolish/", views.abolish, name="abolish"),
    path("<int:pk>/positions/new/", views.position_assign, name="position_assign"),
    path("positions/<int:pk>/end/", views.position_end, name="position_end"),
    path("<int:pk>/terms/new/", views.term_start, name="term_start"),
    path("terms/<int:pk>/<slug:action>/", views.term_action, name="term_action"),
]
