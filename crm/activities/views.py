"""Pages (being written)."""

from django.http import Http404


def my_day_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def followup_create_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def followup_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def followup_delete_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def task_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def task_create_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def task_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def task_toggle_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def calendar_settings_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def calendar_feed_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def talkscript_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def talkscript_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def activity_settings_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()
