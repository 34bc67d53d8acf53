from django.urls import URLPattern, URLResolver, path

from crm.leads import admin_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("leads/", views.lead_list_view, name="lead_list"),
    path("leads/mine/", views.lead_mine_view, name="lead_mine"),
    path("leads/pool/", views.lead_pool_view, name="lead_pool"),
    path("leads/new/", views.lead_create_view, name="lead_create"),
    path("leads/bulk/", views.lead_bulk_view, name="lead_bulk"),
    path("leads/<int:pk>/", views.lead_detail_view, name="lead_detail"),
    path("leads/<int:pk>/edit/", views.lead_edit_view, name="lead_edit"),
    path("leads/<int:pk>/status/", views.lead_status_view, name="lead_status"),
    path("leads/<int:pk>/claim/", views.lead_claim_view, name="lead_claim"),
    path("leads/<int:pk>/assign/", views.lead_assign_view, name="lead_assign"),
    path("leads/<int:pk>/release/", views.lead_release_view, name="lead_release"),
    path("leads/<int:pk>/note/", views.lead_note_view, name="lead_note"),
    path("leads/<int:pk>/delete/", views.lead_delete_view, name="lead_delete"),
    path("leads/<int:pk>/convert/", views.lead_convert_view, name="lead_convert"),
    path(
        "leads/<int:pk>/convert/customers/",
        views.lead_convert_customers_view,
        name="lead_convert_customers",
    ),
    path(
        "leads/<int:pk>/convert/contacts/",
        views.lead_convert_contacts_view,
        name="lead_convert_contacts",
    ),
    path("admin/lead-rules/", admin_views.lead_rules_view, name="lead_rules"),
    path("admin/lead-rules/test/", admin_views.lead_rule_test_view, name="lead_rule_test"),
    path("admin/lead-rules/settings/", admin_views.lead_settings_view, name="lead_settings"),
    path("admin/lead-rules/<int:pk>/", admin_views.lead_rule_edit_view, name="lead_rule_edit"),
    path(
        "admin/lead-rules/<int:pk>/delete/",
        admin_views.lead_rule_delete_view,
        name="lead_rule_delete",
    ),
    path("admin/lead-rules/<int:pk>/move/", admin_views.lead_rule_move_view, name="lead_rule_move"),
    path("admin/lead-forms/", admin_views.lead_forms_view, name="lead_forms"),
    path("admin/lead-forms/<int:pk>/", admin_views.lead_form_edit_view, name="lead_form_edit"),
    path(
        "admin/lead-forms/<int:pk>/delete/",
        admin_views.lead_form_delete_view,
        name="lead_form_delete",
    ),
    path("forms/<str:key>/", views.capture_form_view, name="capture_form"),
    path("forms/<str:key>/thanks/", views.capture_thanks_view, name="capture_thanks"),
]
