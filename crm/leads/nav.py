"""Navigation entries and home cards of the leads app."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register
from crm.leads.models import Lead

nav_register(NavItem("leads", _("线索"), "lead_list", "target", lambda u: can(u, "view", Lead), 8))
nav_register(NavItem("lead_rules", _("线索分配规则"), "lead_rules", "route", is_admin, 62, "admin"))
nav_register(NavItem("lead_forms", _("线索表单"), "lead_forms", "forms", is_admin, 63, "admin"))


def _cards(user: Any) -> list[HomeCard]:
    from crm.leads.selectors import lead_home_stats

    if not can(user, "view", Lead):
        return []
    stats = lead_home_stats(actor=user)
    cards = []
    if stats["new"]:
        cards.append(
            HomeCard(_("待联系的新线索"), stats["new"], reverse("lead_mine") + "?status=new")
        )
    if stats["pool"]:
        cards.append(HomeCard(_("线索池"), stats["pool"], reverse("lead_pool")))
    return cards


home_card_provider(15, _cards)
