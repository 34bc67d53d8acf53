"""{% export_menu "customer" form="customer-filters" %}: the 导出 button of a list page.

Shown only to users who may export the entity. Its links carry the page's current query
string; crm/static/crm/exports.js rewrites them from the filter form (by id) at click time,
so filters changed through htmx since the page loaded are exported too.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from crm.access.visibility import can
from crm.exports.registry import export_get
from crm.exports.services import NOT_FILTERS, sync_limit

register = template.Library()


@register.inclusion_tag("exports/_export_menu.html", takes_context=True)
def export_menu(context: Any, entity: str, form: str = "") -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or export_get(entity) is None or not can(user, "export", entity):
        return {"show": False}
    query = request.GET.copy()
    for key in NOT_FILTERS:
        query.pop(key, None)
    base = reverse("export", args=[entity])
    links = {}
    for fmt in ("xlsx", "csv"):
        query["format"] = fmt
        links[fmt] = f"{base}?{query.urlencode()}"
    return {
        "show": True,
        "entity": entity,
        "form": form,
        "xlsx_url": links["xlsx"],
        "csv_url": links["csv"],
        "jobs_url": reverse("export_job_list"),
        "limit": sync_limit(),
    }
