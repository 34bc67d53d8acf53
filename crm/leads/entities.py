"""Leads in the permission layer, the search index, the timeline and the default roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.customfields.services import custom_entity_register
from crm.leads.models import Lead, LeadStatus
from crm.search.keys import SearchDoc
from crm.search.registry import Searchable, search_register
from crm.timeline.services import TimelineKind, timeline_kind_register


def _pool(actor: Any) -> Q:
    # The leads pool: unassigned leads are seen by everyone who may see leads (claimable).
    return Q(owner__isnull=True)


def _after_restore(obj: Any, actor: Any) -> None:
    from crm.leads.services import lead_after_restore

    lead_after_restore(obj, actor)


LEAD = register(
    Entity(
        key="lead",
        model=Lead,
        label=_("线索"),
        owner_field="owner",
        soft_delete=True,
        extra_visible=_pool,
        extra={"after_restore": lambda obj, actor: _after_restore(obj, actor)},
        fields=(
            FieldSpec("name", _("姓名")),
            FieldSpec("company", _("公司")),
            FieldSpec("title", _("职务")),
            FieldSpec("mobile", _("手机"), kind="phone"),
            FieldSpec("phone", _("电话"), kind="phone"),
            FieldSpec("email", _("邮箱"), kind="email"),
            FieldSpec("wechat", _("微信")),
            FieldSpec("source", _("线索来源")),
            FieldSpec("province", _("省份")),
            FieldSpec("city", _("城市")),
            FieldSpec("industry", _("行业")),
            FieldSpec("notes", _("备注")),
            FieldSpec("status", _("状态")),
            FieldSpec("disqualify_reason", _("无效原因")),
            FieldSpec("owner", _("负责人")),
        ),
    )
)

default_grants_add(
    "lead",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (
            ["view", "create", "edit", "delete", "export", "import"],
            "subtree",
            "subtree",
        ),
        "marketing": (["view", "create", "edit", "export", "import"], "all", "all"),
        "service": (["view", "create"], "own", "own"),
    },
)

custom_entity_register("lead", _("线索"), list(LeadStatus.choices))


def _lead_doc(lead: Lead) -> SearchDoc:
    return SearchDoc(
        title=lead.name,
        subtitle=" · ".join(p for p in (lead.company, lead.province, lead.source) if p),
        names=[n for n in (lead.name, lead.company) if n],
        phones=[p for p in (lead.mobile, lead.phone) if p],
        emails=[lead.email] if lead.email else [],
    )


def _lead_present(actor: Any, lead: Lead) -> tuple[str, str]:
    from crm.access.fieldsec import present

    shown = present(actor, lead, ["name", "company", "province", "status"])
    parts = [str(shown.get(k) or "") for k in ("company", "province")]
    parts.append(str(lead.get_status_display()) if "status" in shown else "")
    return str(shown.get("name") or "****"), " · ".join(p for p in parts if p)


search_register(
    Searchable(
        entity="lead",
        doc=_lead_doc,
        url=lambda lead: reverse("lead_detail", args=[lead.pk]),
        label=_("线索"),
        queryset=lambda: Lead.objects.select_related("owner"),
        order=30,
        present=_lead_present,
    )
)

# The lead's history on the customer after conversion, and the conversion itself.
timeline_kind_register(TimelineKind("lead", _("线索记录"), "target-arrow", "indigo"))
timeline_kind_register(TimelineKind("lead_converted", _("线索转化"), "transform", "green"))


# A leaver's open leads are dealt round-robin to the receivers in a handover (离职交接);
# a lead has no customer until it is converted.
def _handover_register() -> None:
    from crm.customers.services import HandoverParticipant, handover_participant_register

    handover_participant_register(HandoverParticipant("lead", Lead, _("线索"), customer_field=None))


_handover_register()
