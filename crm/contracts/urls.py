from django.urls import URLPattern, URLResolver, path

from crm.contracts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("contracts/", views.contract_list_view, name="contract_list"),
    path("contracts/new/", views.contract_create_view, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail_view, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit_view, name="contract_edit"),
    path("contracts/<int:pk>/delete/", views.contract_delete_view, name="contract_delete"),
    path("contracts/<int:pk>/reveal/", views.contract_reveal_view, name="contract_reveal"),
    path(
        "contracts/<int:pk>/status/<slug:action>/",
        views.contract_transition_view,
        name="contract_transition",
    ),
    path("contracts/<int:pk>/plan/", views.contract_plan_view, name="contract_plan"),
    path("contracts/<int:pk>/payments/new/", views.payment_create_view, name="payment_create"),
    path(
        "contracts/<int:pk>/attachments/",
        views.attachment_upload_view,
        name="contract_attachment_upload",
    ),
    path(
        "contracts/attachments/<int:pk>/",
        views.attachment_download_view,
        name="contract_attachment",
    ),
    path(
        "contracts/attachments/<int:pk>/delete/",
        views.attachment_delete_view,
        name="contract_attachment_delete",
    ),
    path("payments/", views.payment_list_view, name="payment_list"),
    path("payments/<int:pk>/delete/", views.payment_delete_view, name="payment_delete"),
    path("customers/<int:pk>/contracts/", views.customer_contracts_view, name="customer_contracts"),
    path(
        "opportunities/<int:pk>/contracts/",
        views.opportunity_contracts_view,
        name="opportunity_contracts",
    ),
    path("admin/contract-settings/", views.contract_settings_view, name="contract_settings"),
]
