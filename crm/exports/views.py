"""Export pages: the 导出 button of every list (a download, or a job for the worker), the
user's background exports, and their download. Thin, over services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from crm.core.errors import DomainError, NotFound, PermissionDenied
from crm.exports.registry import export_get
from crm.exports.responses import export_response
from crm.exports.selectors import export_job_get, export_jobs, export_jobs_pending
from crm.exports.services import export_job_file, export_start, sync_limit


def _back(request: HttpRequest, entity: str) -> str:
    """Where to return after a refused export: the page the button was on, else the list."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    spec = export_get(entity)
    try:
        return reverse(spec.list_url) if spec and spec.list_url else reverse("home")
    except NoReverseMatch:
        return reverse("home")


@login_required
@require_GET
def export_view(request: HttpRequest, entity: str) -> HttpResponseBase:
    """GET /exports/<entity>/?format=xlsx|csv&<the list's filters>."""
    try:
        started = export_start(
            actor=request.user,
            entity=entity,
            fmt=request.GET.get("format"),
            query=request.GET,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(_("您没有导出该列表的权限")) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request, entity))
    if started.job is not None:
        messages.info(
            request,
            _("共 %(n)d 行，超过 %(limit)d 行的导出在后台进行，完成后会通知您，也可在本页下载。")
            % {"n": started.count, "limit": sync_limit()},
        )
        return redirect("export_job_list")
    assert started.stream is not None
    return export_response(started.stream, rows=started.count)


@login_required
@vary_on_headers("HX-Request")
def export_job_list_view(request: HttpRequest) -> HttpResponse:
    """The user's background exports; refreshes itself while one is still running."""
    actor = request.user
    context: dict[str, Any] = {
        "jobs": export_jobs(actor=actor),
        "pending": export_jobs_pending(actor=actor),
    }
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "export-jobs":
        return render(request, "exports/_export_jobs.html", context)
    return render(request, "exports/export_jobs.html", context)


@login_required
@require_GET
def export_job_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        job = export_job_get(actor=request.user, job_id=pk)
        path = export_job_file(job)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=job.file_name)  # noqa: SIM115
    response["Cache-Control"] = "no-store"
    return response
