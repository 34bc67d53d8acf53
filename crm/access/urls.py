from django.contrib.auth import views as auth_views
from django.urls import path

from crm.access import views

urlpatterns = [
    path("login/", views.CrmLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("me/password/", views.password_change_view, name="password_change"),
    path("me/", views.my_settings_view, name="my_settings"),
    path("me/tokens/", views.token_create_view, name="token_create"),
    path("me/tokens/<int:token_id>/revoke", views.token_revoke_view, name="token_revoke"),
    # The organisation, for everyone who may see it.
    path("org/", views.org_view, name="org"),
    # Administration (administrators only; 404 for anyone else).
    path("manage/users/", views.user_admin_list_view, name="user_admin_list"),
    path("manage/users/new", views.user_admin_create_view, name="user_admin_create"),
    path("manage/users/<int:user_id>/", views.user_admin_edit_view, name="user_admin_edit"),
    path(
        "manage/users/<int:user_id>/password",
        views.user_admin_password_view,
        name="user_admin_password",
    ),
    path(
        "manage/users/<int:user_id>/active", views.user_admin_active_view, name="user_admin_active"
    ),
    path("manage/departments/", views.department_admin_list_view, name="department_admin_list"),
    path(
        "manage/departments/new",
        views.department_admin_create_view,
        name="department_admin_create",
    ),
    path(
        "manage/departments/<int:department_id>/",
        views.department_admin_edit_view,
        name="department_admin_edit",
    ),
    path(
        "manage/departments/<int:department_id>/delete",
        views.department_admin_delete_view,
        name="department_admin_delete",
    ),
    path("manage/roles/", views.role_admin_list_view, name="role_admin_list"),
    path("manage/roles/new", views.role_admin_create_view, name="role_admin_create"),
    path("manage/roles/<int:role_id>/", views.role_admin_edit_view, name="role_admin_edit"),
    path(
        "manage/roles/<int:role_id>/delete", views.role_admin_delete_view, name="role_admin_delete"
    ),
    path(
        "manage/roles/<int:role_id>/grants", views.role_admin_grants_view, name="role_admin_grants"
    ),
    path(
        "manage/roles/<int:role_id>/fields", views.role_admin_fields_view, name="role_admin_fields"
    ),
]
