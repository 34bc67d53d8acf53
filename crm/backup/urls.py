from django.urls import URLPattern, URLResolver, path

from crm.backup import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/backup/", views.backup_settings_view, name="backup_settings"),
    path("admin/backup/now/", views.backup_now_view, name="backup_now"),
]
