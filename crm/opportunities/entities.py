"""Opportunities and pipelines in the permission layer, the search index, the timeline,
custom fields, notifications and the default roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.customfields.services import custom_entity_register
from crm.notifications.kinds import NotificationKind, kind_register
from crm.opportunities.models import Opportunity, OpportunityStatus, Pipeline
from crm.search.keys import SearchDoc
from crm.search.registry import Searchable, search_register
from crm.timeline.services import TimelineKind, timeline_kind_register


def _opportunity_extra(actor: Any) -> Q:
    # Collaborators of the customer see (never edit) the customer's opportunities, as with
    # follow-ups. A subquery, not a join: no DISTINCT over the kanban's rows.
    from crm.customers.models import CustomerCollaborator

    return Q(
        customer_id__in=CustomerCollaborator.objects.filter(user_id=actor.pk).values("customer_id")
    )


def _after_restore(obj: Any, actor: Any) -> None:
    from crm.opportunities.services import opportunity_after_restore

    opportunity_after_restore(obj, actor)


OPPORTUNITY_FIELDS = (
    FieldSpec("name", _("商机名称")),
    FieldSpec("amount", _("金额"), kind="money"),
    FieldSpec("currency", _("币种")),
    FieldSpec("expected_close_date", _("预计成交日期")),
    FieldSpec("probability", _("赢率（%）"), kind="number"),
    FieldSpec("forecast_category", _("预测类别")),
    FieldSpec("competitors", _("竞争对手")),
    FieldSpec("source", _("来源")),
    FieldSpec("lost_reason", _("输单原因")),
    FieldSpec("notes", _("备注")),
    FieldSpec("owner", _("负责人")),
)

OPPORTUNITY = register(
    Entity(
        key="opportunity",
        model=Opportunity,
        label=_("商机"),
        owner_field="owner",
        soft_delete=True,
        extra_visible=_opportunity_extra,
        extra={"after_restore": lambda obj, actor: _after_restore(obj, actor)},
        fields=OPPORTUNITY_FIELDS,
    )
)

PIPELINE = register(
    Entity(
        key="pipeline",
        model=Pipeline,
        label=_("销售流程"),
        owner_field=None,
        fields=(FieldSpec("name", _("名称")),),
        actions=("view", "create", "edit", "delete"),
    )
)

default_grants_add(
    "opportunity",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "own"),
        "marketing": (["view"], "all", "none"),
        "finance": (["view"], "all", "none"),
    },
)
# Everyone sees the pipelines and their stages; only administrators change them.
for _code in ("sales_rep", "sales_manager", "marketing", "service", "finance"):
    default_grants_add("pipeline", {_code: (["view"], "all", "none")})


# ----------------------------------------------------------------- search


def _opportunity_doc(o: Opportunity) -> SearchDoc:
    return SearchDoc(
        title=o.name,
        subtitle=" · ".join(p for p in (o.customer.name, o.stage.name) if p),
        names=[o.name, o.customer.name],
    )


def _opportunity_present(actor: Any, o: Opportunity) -> tuple[str, str]:
    from crm.access.fieldsec import MASK, present

    shown = present(actor, o, ["name"]).get("name", MASK)
    customer = present(actor, o.customer, ["name"]).get("name", MASK)
    return str(shown or ""), " · ".join(str(p) for p in (customer, o.stage.name) if p)


search_register(
    Searchable(
        entity="opportunity",
        doc=_opportunity_doc,
        url=lambda o: reverse("opportunity_detail", args=[o.pk]),
        label=_("商机"),
        queryset=lambda: Opportunity.objects.select_related("customer", "stage"),
        order=30,
        present=_opportunity_present,
    )
)


# ----------------------------------------------------------------- timeline, custom fields

for _k in (
    TimelineKind("opportunity_created", _("新建商机"), "briefcase", "indigo"),
    TimelineKind("opportunity_stage", _("商机阶段"), "arrow-right", "blue"),
    TimelineKind("won", _("赢单"), "trophy", "green"),
    TimelineKind("lost", _("输单"), "x", "red"),
):
    timeline_kind_register(_k)

custom_entity_register("opportunity", _("商机"), list(OpportunityStatus.choices))

kind_register(NotificationKind("opportunity_stalled", _("商机停滞"), ("inapp", "email")))


# A leaver's opportunities move with their customers in a handover (离职交接).
def _handover_register() -> None:
    from crm.customers.services import HandoverParticipant, handover_participant_register

    handover_participant_register(HandoverParticipant("opportunity", Opportunity, _("商机")))


_handover_register()
