"""Navigation entries and home cards of the customers app."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register
from crm.customers.models import Contact, Customer

nav_register(
    NavItem(
        "customers", _("客户"), "customer_list", "building", lambda u: can(u, "view", Customer), 10
    )
)
nav_register(
    NavItem("contacts", _("联系人"), "contact_list", "users", lambda u: can(u, "view", Contact), 20)
)
nav_register(
    NavItem("pool", _("公海"), "pool_list", "lifebuoy", lambda u: can(u, "view", Customer), 30)
)
nav_register(
    NavItem("tags", _("标签"), "tag_list", "tag", lambda u: can(u, "view", "tag"), 40, group="data")
)
nav_register(
    NavItem("custom_fields", _("自定义字段"), "custom_field_list", "forms", is_admin, 50, "admin")
)
nav_register(
    NavItem(
        "customer_settings", _("客户设置"), "customer_settings", "settings", is_admin, 51, "admin"
    )
)
nav_register(NavItem("handover", _("离职交接"), "handover", "switch", is_admin, 52, "admin"))


def _cards(user: Any) -> list[HomeCard]:
    from crm.customers.selectors import customer_home_stats

    if not can(user, "view", Customer):
        return []
    stats = customer_home_stats(actor=user)
    return [
        HomeCard(_("我负责的客户"), stats["mine"], reverse("customer_list") + "?owner=me"),
        HomeCard(_("今天及逾期待跟进"), stats["due"], reverse("customer_list") + "?due=1"),
        HomeCard(_("公海客户"), stats["pool"], reverse("pool_list")),
    ]


home_card_provider(10, _cards)
from crm.customers import admin_nav  # noqa: E402, F401  (collaboration inbox home card)
