from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from crm.access.visibility import is_admin
from crm.audit.selectors import audit_list


@login_required
def audit_list_view(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404()
    page = audit_list(actor=request.user, filters=request.GET, cursor=request.GET.get("cursor"))
    return render(request, "audit/audit_list.html", {"page": page})
