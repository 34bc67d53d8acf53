"""Pages (being written)."""

from django.http import Http404


def notification_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def notification_bell_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def notification_read_all_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def notification_open_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def notification_prefs_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def robot_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def robot_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def delivery_problems_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def delivery_retry_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()
