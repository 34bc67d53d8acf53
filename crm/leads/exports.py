"""The lead list in the export registry (crm.exports): the list page's filters and order;
phones and emails under the lead's field rules."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.exports.registry import (
    Column,
    ExportSpec,
    choice_display,
    export_register,
    field_column,
    id_column,
)
from crm.leads.forms import LeadFilterForm
from crm.leads.models import LeadStatus
from crm.leads.selectors import LEAD_SORTS, lead_filter, lead_owner_choices


def _rows(actor: Any, params: Any) -> QuerySet:
    form = LeadFilterForm(params or None, owners=lead_owner_choices(actor=actor))
    filters = form.filters() if params else {}
    ordering = LEAD_SORTS.get(str(filters.get("sort") or "-id"), LEAD_SORTS["-id"])
    return lead_filter(actor, filters).order_by(*ordering)


def lead_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        *(
            field_column("lead", name)
            for name in ("name", "company", "title", "mobile", "phone", "email", "wechat")
        ),
        field_column("lead", "source"),
        field_column("lead", "province"),
        field_column("lead", "city"),
        field_column("lead", "industry"),
        field_column("lead", "status", display=choice_display(LeadStatus.choices)),
        field_column("lead", "disqualify_reason"),
        field_column("lead", "owner", value=lambda x: x.owner.name if x.owner else ""),
        Column("created_at", _("创建时间"), value=lambda x: x.created_at),
        field_column("lead", "notes"),
    ]


export_register(
    ExportSpec(
        entity="lead",
        label=_("线索"),
        columns=lead_columns,
        rows=_rows,
        list_url="lead_list",
    )
)
