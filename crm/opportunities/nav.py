"""Navigation entries and the home card of opportunities."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register
from crm.opportunities.models import Opportunity

nav_register(
    NavItem(
        "opportunities",
        _("商机"),
        "opportunity_kanban",
        "briefcase",
        lambda u: can(u, "view", Opportunity),
        9,
    )
)
nav_register(
    NavItem("pipelines", _("销售流程"), "pipeline_admin_list", "route", is_admin, 54, "admin")
)


def _cards(user: Any) -> list[HomeCard]:
    from crm.opportunities.selectors import opportunity_totals

    if not can(user, "view", Opportunity):
        return []
    mine = opportunity_totals(actor=user, filters={"owner": "me", "status": "open"})
    if not mine.count and not can(user, "create", Opportunity):
        return []
    from crm.access.fieldsec import field_level
    from crm.access.models import FieldAccess

    hint: Any = ""
    if field_level(user, "opportunity", "amount") in (FieldAccess.EDITABLE, FieldAccess.READONLY):
        hint = _("金额 ¥%(a)s · 加权 ¥%(w)s") % {
            "a": f"{mine.amount:,.0f}",
            "w": f"{mine.weighted:,.0f}",
        }
    return [
        HomeCard(
            _("我的进行中商机"),
            mine.count,
            reverse("opportunity_list") + "?owner=me&status=open",
            hint,
            "briefcase",
        )
    ]


home_card_provider(12, _cards)
