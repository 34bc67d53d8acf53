"""Navigation entries and the home card of contracts and payments."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.contracts.models import Contract, Payment
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register

nav_register(
    NavItem(
        "contracts",
        _("合同"),
        "contract_list",
        "file-text",
        lambda u: can(u, "view", Contract),
        70,
        group="sales",
    )
)
nav_register(
    NavItem(
        "payments",
        _("回款"),
        "payment_list",
        "cash",
        lambda u: can(u, "view", Payment),
        72,
        group="sales",
    )
)
nav_register(
    NavItem(
        "contract_settings", _("合同设置"), "contract_settings", "settings", is_admin, 70, "admin"
    )
)


def _cards(user: Any) -> list[HomeCard]:
    from crm.contracts.selectors import money_access, receivable_summary

    if not can(user, "view", Payment) or not money_access(user).balance_shown:
        return []
    summary = receivable_summary(actor=user)
    if not summary.overdue_count and not summary.due_count:
        return []
    hint = _("%(n)d 期即将到期（%(d)d 天内）") % {"n": summary.due_count, "d": summary.due_days}
    return [
        HomeCard(
            _("逾期回款"),
            summary.overdue_count,
            reverse("payment_list") + "?view=overdue",
            hint,
            "cash",
        )
    ]


home_card_provider(40, _cards)
