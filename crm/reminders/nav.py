"""Administrator navigation entries of the reminders app."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import is_admin
from crm.core.navigation import NavItem, nav_register

nav_register(
    NavItem("reminder_rules", _("提醒规则"), "reminder_rule_list", "bell", is_admin, 70, "admin")
)
nav_register(
    NavItem(
        "working_calendar", _("工作日历"), "working_calendar", "calendar", is_admin, 71, "admin"
    )
)
