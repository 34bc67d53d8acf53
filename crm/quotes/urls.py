from django.urls import URLPattern, URLResolver, path

from crm.quotes import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("products/", views.product_list_view, name="product_list"),
    path("products/new/", views.product_create_view, name="product_create"),
    path("products/<int:pk>/edit/", views.product_edit_view, name="product_edit"),
    path("products/<int:pk>/active/", views.product_toggle_view, name="product_toggle"),
    path("price-lists/", views.pricelist_list_view, name="pricelist_list"),
    path("price-lists/<int:pk>/", views.pricelist_detail_view, name="pricelist_detail"),
    path(
        "price-list-items/<int:pk>/remove/",
        views.pricelist_item_remove_view,
        name="pricelist_item_remove",
    ),
    path(
        "opportunities/<int:pk>/products/",
        views.opportunity_products_view,
        name="opportunity_products",
    ),
    path(
        "opportunities/<int:pk>/products/apply-amount/",
        views.opportunity_amount_apply_view,
        name="opportunity_amount_apply",
    ),
    path(
        "opportunity-products/<int:pk>/edit/",
        views.opportunity_product_edit_view,
        name="opportunity_product_edit",
    ),
    path(
        "opportunity-products/<int:pk>/remove/",
        views.opportunity_product_remove_view,
        name="opportunity_product_remove",
    ),
    path(
        "opportunities/<int:pk>/quotes/", views.opportunity_quotes_view, name="opportunity_quotes"
    ),
    path("customers/<int:pk>/quotes/", views.customer_quotes_view, name="customer_quotes"),
    path("quotes/", views.quote_list_view, name="quote_list"),
    path("quotes/new/", views.quote_create_view, name="quote_create"),
    path("quotes/preview/", views.quote_preview_view, name="quote_preview"),
    path("quotes/<int:pk>/", views.quote_detail_view, name="quote_detail"),
    path("quotes/<int:pk>/edit/", views.quote_edit_view, name="quote_edit"),
    path("quotes/<int:pk>/status/", views.quote_status_view, name="quote_status"),
    path("quotes/<int:pk>/delete/", views.quote_delete_view, name="quote_delete"),
    path("quotes/<int:pk>/print/", views.quote_print_view, name="quote_print"),
    path("quotes/<int:pk>/revisions/", views.quote_revisions_view, name="quote_revisions"),
    path("quotes/<int:pk>/revisions/compare/", views.quote_compare_view, name="quote_compare"),
    path(
        "quotes/<int:pk>/revisions/<int:number>/",
        views.quote_revision_view,
        name="quote_revision",
    ),
    path("admin/quote-settings/", views.quote_settings_view, name="quote_settings"),
]
