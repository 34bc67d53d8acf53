"""The opportunity list in the export registry (crm.exports): the list page's filters and
order, its field rules (a masked amount is masked in the file too)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.access.selectors import department_tree
from crm.exports.registry import (
    Column,
    ExportSpec,
    choice_display,
    export_register,
    field_column,
    id_column,
)
from crm.opportunities import selectors
from crm.opportunities.forms import OpportunityFilterForm
from crm.opportunities.models import OpportunityStatus


def _rows(actor: Any, params: Any) -> QuerySet:
    form = OpportunityFilterForm(
        params or None,
        pipelines=selectors.pipelines_with_stages(actor=actor),
        users=selectors.owner_shortlist(actor=actor, include=params.get("owner")),
        departments=department_tree(actor=actor),
    )
    qs, ordering = selectors.opportunity_list_queryset(actor=actor, filters=form.filters())
    return qs.order_by(*ordering)


def opportunity_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        field_column("opportunity", "name"),
        field_column(
            "customer", "name", key="customer", label=_("客户"), value=lambda o: o.customer.name
        ),
        Column("pipeline", _("销售流程"), value=lambda o: o.pipeline.name),
        Column("stage", _("阶段"), value=lambda o: o.stage.name),
        Column(
            "status",
            _("状态"),
            value=lambda o: o.status,
            display=choice_display(OpportunityStatus.choices),
        ),
        field_column("opportunity", "amount"),
        field_column("opportunity", "currency"),
        field_column("opportunity", "probability"),
        field_column("opportunity", "expected_close_date"),
        field_column("opportunity", "source"),
        field_column("opportunity", "competitors"),
        field_column("opportunity", "lost_reason"),
        field_column("opportunity", "owner", value=lambda o: o.owner.name if o.owner else ""),
    ]


export_register(
    ExportSpec(
        entity="opportunity",
        label=_("商机"),
        columns=opportunity_columns,
        rows=_rows,
        list_url="opportunity_list",
    )
)
