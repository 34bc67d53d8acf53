"""The quote list in the export registry (crm.exports): the list page's filters, newest
first; totals are numbers under the quote's field rules."""

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
from crm.quotes import selectors
from crm.quotes.forms import QuoteFilterForm
from crm.quotes.models import QuoteStatus


def _rows(actor: Any, params: Any) -> QuerySet:
    form = QuoteFilterForm(params or None)
    return selectors.quote_filter(actor, form.filters()).order_by("-id")


def quote_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        field_column("quote", "number"),
        field_column("quote", "title"),
        field_column(
            "customer", "name", key="customer", label=_("客户"), value=lambda q: q.customer.name
        ),
        Column(
            "opportunity",
            _("商机"),
            value=lambda q: q.opportunity.name if q.opportunity_id else "",
        ),
        field_column("quote", "status", display=choice_display(QuoteStatus.choices)),
        Column("revision", _("修订版本"), value=lambda q: q.revision),
        field_column("quote", "valid_until"),
        field_column("quote", "currency"),
        field_column("quote", "discount_pct"),
        field_column("quote", "total"),
        field_column("quote", "owner", value=lambda q: q.owner.name if q.owner else ""),
    ]


export_register(
    ExportSpec(
        entity="quote",
        label=_("报价"),
        columns=quote_columns,
        rows=_rows,
        list_url="quote_list",
    )
)
