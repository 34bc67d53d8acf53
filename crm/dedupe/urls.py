from django.urls import URLPattern, URLResolver, path

from crm.dedupe import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("duplicates/", views.duplicate_list_view, name="duplicate_list"),
    path("duplicates/compare/", views.duplicate_compare_view, name="duplicate_compare"),
    path("duplicates/<int:pk>/", views.duplicate_pair_view, name="duplicate_pair"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss_view, name="duplicate_dismiss"),
    path("duplicates/merge/", views.customer_merge_view, name="customer_merge"),
    path("merges/", views.merge_list_view, name="merge_list"),
    path("merges/<int:pk>/", views.merge_detail_view, name="merge_detail"),
    path("merges/<int:pk>/undo/", views.merge_undo_view, name="merge_undo"),
]
