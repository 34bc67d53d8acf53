"""Small helpers every app's views share (htmx fragments, safe redirects, 404s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from crm.core.errors import NotFound


def get_or_404(getter: Callable[..., Any], **kwargs: Any) -> Any:
    """A selector's record, or Http404: out of scope and absent look the same."""
    try:
        return getter(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def fragment_target(request: HttpRequest) -> str | None:
    """The id an htmx request swaps into (None for a normal page load or a history restore)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or ""


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` URL of the form or query when it stays on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def redirect_htmx(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful htmx form: the browser goes to `url` (a normal redirect otherwise)."""
    if getattr(request, "htmx", None):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
