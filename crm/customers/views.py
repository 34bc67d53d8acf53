"""Customer pages (being written)."""

from django.http import Http404


def customer_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_create_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_quick_add_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_bulk_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_export_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_detail_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_timeline_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_claim_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_release_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_delete_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def contact_create_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def collaboration_request_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def contact_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def contact_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def contact_delete_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def contact_reveal_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def pool_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def tag_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def tag_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def collaboration_inbox_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def collaboration_decide_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def saved_view_save_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def saved_view_delete_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def search_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def custom_field_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def custom_field_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def customer_settings_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def handover_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def handover_undo_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()
