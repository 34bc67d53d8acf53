from django.urls import URLPattern, URLResolver, path

from crm.imports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("imports/", views.import_list_view, name="import_list"),
    path("imports/new/", views.import_new_view, name="import_new"),
    path("imports/<int:pk>/", views.import_detail_view, name="import_detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping_view, name="import_mapping"),
    path("imports/<int:pk>/preview/", views.import_preview_view, name="import_preview"),
    path("imports/<int:pk>/dry-run/", views.import_dry_run_view, name="import_dry_run"),
    path("imports/<int:pk>/run/", views.import_run_view, name="import_run"),
    path("imports/<int:pk>/resume/", views.import_resume_view, name="import_resume"),
    path("imports/<int:pk>/rollback/", views.import_rollback_view, name="import_rollback"),
    path(
        "imports/<int:pk>/report.<str:fmt>",
        views.import_report_view,
        name="import_report",
    ),
    path("imports/migrations/<str:label>/", views.import_migration_view, name="import_migration"),
    path(
        "imports/templates/<int:pk>/delete/",
        views.import_template_delete_view,
        name="import_template_delete",
    ),
    path("admin/import-settings/", views.import_settings_view, name="import_settings"),
]
