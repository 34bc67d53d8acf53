from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import is_admin
from crm.core.navigation import NavItem, nav_register

nav_register(
    NavItem(
        "backup_settings", _("备份与恢复"), "backup_settings", "database", is_admin, 90, "admin"
    )
)
