"""Navigation entries of the forecast and the sales targets."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can
from crm.core.navigation import NavItem, nav_register
from crm.forecast.selectors import target_can_set

nav_register(
    NavItem(
        "forecast",
        _("销售预测"),
        "forecast",
        "chart-bar",
        lambda u: can(u, "view", "opportunity"),
        26,
        group="sales",
    )
)
nav_register(
    NavItem(
        "sales_targets",
        _("销售目标"),
        "forecast_targets",
        "target",
        target_can_set,
        27,
        group="sales",
    )
)
