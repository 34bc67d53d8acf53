"""Administrator navigation entries of the notifications app."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import is_admin
from crm.core.navigation import NavItem, nav_register

nav_register(NavItem("robots", _("群机器人"), "robot_list", "robot", is_admin, 72, "admin"))
nav_register(
    NavItem("deliveries", _("通知投递"), "delivery_problems", "send", is_admin, 73, "admin")
)
