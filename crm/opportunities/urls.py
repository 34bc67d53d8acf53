from django.urls import URLPattern, URLResolver, path

from crm.opportunities import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("opportunities/", views.opportunity_list_view, name="opportunity_list"),
    path("opportunities/kanban/", views.opportunity_kanban_view, name="opportunity_kanban"),
    path("opportunities/new/", views.opportunity_create_view, name="opportunity_create"),
    path(
        "opportunities/customer-pick/", views.customer_pick_view, name="opportunity_customer_pick"
    ),
    path("opportunities/<int:pk>/", views.opportunity_detail_view, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit_view, name="opportunity_edit"),
    path(
        "opportunities/<int:pk>/delete/", views.opportunity_delete_view, name="opportunity_delete"
    ),
    path("opportunities/<int:pk>/move/", views.opportunity_move_view, name="opportunity_move"),
    path(
        "opportunities/<int:pk>/checklist/",
        views.opportunity_checklist_view,
        name="opportunity_checklist",
    ),
    path(
        "opportunities/<int:pk>/contacts/",
        views.opportunity_contact_add_view,
        name="opportunity_contact_add",
    ),
    path(
        "opportunities/<int:pk>/contacts/<int:contact_id>/remove/",
        views.opportunity_contact_remove_view,
        name="opportunity_contact_remove",
    ),
    path(
        "customers/<int:pk>/opportunities/",
        views.customer_opportunities_view,
        name="customer_opportunities",
    ),
    path("admin/pipelines/", views.pipeline_admin_list_view, name="pipeline_admin_list"),
    path("admin/pipelines/new/", views.pipeline_admin_create_view, name="pipeline_admin_create"),
    path("admin/pipelines/<int:pk>/", views.pipeline_admin_edit_view, name="pipeline_admin_edit"),
    path(
        "admin/pipelines/<int:pk>/stages/new/",
        views.stage_admin_create_view,
        name="stage_admin_create",
    ),
    path("admin/stages/<int:pk>/", views.stage_admin_edit_view, name="stage_admin_edit"),
    path("admin/stages/<int:pk>/move/", views.stage_admin_move_view, name="stage_admin_move"),
    path("admin/stages/<int:pk>/delete/", views.stage_admin_delete_view, name="stage_admin_delete"),
]
