"""Navigation entries and the home card of quotes, products and price lists."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register

nav_register(
    NavItem(
        "quotes",
        _("报价"),
        "quote_list",
        "file-invoice",
        lambda u: can(u, "view", "quote"),
        26,
        group="sales",
    )
)
nav_register(NavItem("products", _("产品"), "product_list", "package", is_admin, 55, "admin"))
nav_register(NavItem("price_lists", _("价格表"), "pricelist_list", "tags", is_admin, 56, "admin"))
nav_register(
    NavItem("quote_settings", _("报价设置"), "quote_settings", "settings", is_admin, 57, "admin")
)


def _cards(user: Any) -> list[HomeCard]:
    from crm.quotes.selectors import quote_home_stats

    if not can(user, "create", "quote"):
        return []
    stats = quote_home_stats(actor=user)
    hint = _("7 天内到期 %(n)d 张") % {"n": stats.expiring}
    return [
        HomeCard(
            _("我的未结报价"),
            stats.open_count,
            reverse("quote_list") + "?owner=me",
            hint,
            "file-invoice",
        )
    ]


home_card_provider(40, _cards)
