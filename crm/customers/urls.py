from django.urls import path

from crm.customers import admin_views, views

urlpatterns = [
    path("customers/", views.customer_list_view, name="customer_list"),
    path("customers/new/", views.customer_create_view, name="customer_create"),
    path("customers/quick-add/", views.customer_quick_add_view, name="customer_quick_add"),
    path("customers/bulk/", views.customer_bulk_view, name="customer_bulk"),
    path("customers/export/", views.customer_export_view, name="customer_export"),
    path("customers/<int:pk>/", views.customer_detail_view, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit_view, name="customer_edit"),
    path("customers/<int:pk>/timeline/", views.customer_timeline_view, name="customer_timeline"),
    path("customers/<int:pk>/claim/", views.customer_claim_view, name="customer_claim"),
    path("customers/<int:pk>/release/", views.customer_release_view, name="customer_release"),
    path("customers/<int:pk>/delete/", views.customer_delete_view, name="customer_delete"),
    path("customers/<int:pk>/contacts/new/", views.contact_create_view, name="contact_create"),
    path(
        "customers/<int:pk>/collaborate/",
        views.collaboration_request_view,
        name="collaboration_request",
    ),
    path("contacts/", views.contact_list_view, name="contact_list"),
    path("contacts/<int:pk>/edit/", views.contact_edit_view, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete_view, name="contact_delete"),
    path("contacts/<int:pk>/reveal/<str:field>/", views.contact_reveal_view, name="contact_reveal"),
    path("pool/", admin_views.pool_list_view, name="pool_list"),
    path("tags/", admin_views.tag_list_view, name="tag_list"),
    path("tags/<int:pk>/", admin_views.tag_edit_view, name="tag_edit"),
    path("collaboration/", admin_views.collaboration_inbox_view, name="collaboration_inbox"),
    path(
        "collaboration/<int:pk>/decide/",
        admin_views.collaboration_decide_view,
        name="collaboration_decide",
    ),
    path("saved-views/", views.saved_view_save_view, name="saved_view_save"),
    path("saved-views/<int:pk>/delete/", views.saved_view_delete_view, name="saved_view_delete"),
    path("search/", views.search_view, name="search"),
    path("admin/custom-fields/", admin_views.custom_field_list_view, name="custom_field_list"),
    path(
        "admin/custom-fields/<int:pk>/",
        admin_views.custom_field_edit_view,
        name="custom_field_edit",
    ),
    path("admin/customer-settings/", admin_views.customer_settings_view, name="customer_settings"),
    path("admin/handover/", admin_views.handover_view, name="handover"),
    path("admin/handover/<int:pk>/undo/", admin_views.handover_undo_view, name="handover_undo"),
]
