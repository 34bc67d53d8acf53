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
]
