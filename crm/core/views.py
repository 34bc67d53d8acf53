from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.access.visibility import is_admin
from crm.core.errors import DomainError, NotFound
from crm.core.health import health_checks
from crm.core.home import home_cards
from crm.core.recyclebin import record_purge, record_restore, trash_entities, trash_list


@require_GET
def healthz_view(request: HttpRequest) -> JsonResponse:
    checks = health_checks(deep=False)
    ok = all(c.ok for c in checks)
    body = {
        "status": "ok" if ok else "error",
        "database": "ok" if checks[0].ok else "error",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JsonResponse(body, status=200 if ok else 503)


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"cards": home_cards(request.user)})


@login_required
def trash_view(request: HttpRequest) -> HttpResponse:
    entity = request.GET.get("entity") or None
    rows = trash_list(actor=request.user, entity_key=entity)
    return render(
        request,
        "core/trash.html",
        {
            "rows": rows,
            "entities": trash_entities(),
            "current_entity": entity,
            "perms_admin": is_admin(request.user),
        },
    )


@login_required
@require_POST
def trash_restore_view(request: HttpRequest, entity: str, pk: int) -> HttpResponse:
    try:
        obj = record_restore(actor=request.user, entity_key=entity, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("已恢复：%s") % obj)
    return redirect("trash")


@login_required
@require_POST
def trash_purge_view(request: HttpRequest, entity: str, pk: int) -> HttpResponse:
    try:
        record_purge(
            actor=request.user, entity_key=entity, pk=pk, confirm=request.POST.get("confirm", "")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("trash")
    messages.success(request, _("已彻底删除"))
    return redirect("trash")
