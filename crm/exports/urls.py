from django.urls import URLPattern, URLResolver, path

from crm.exports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("exports/", views.export_job_list_view, name="export_job_list"),
    path(
        "exports/jobs/<int:pk>/download/",
        views.export_job_download_view,
        name="export_job_download",
    ),
    path("exports/<slug:entity>/", views.export_view, name="export"),
]
