"""Pages (being written)."""

from django.http import Http404


def reminder_rule_list_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def reminder_run_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def reminder_rule_edit_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()


def working_calendar_view(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    raise Http404()
