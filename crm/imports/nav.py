"""Menu entries of the import app: the wizard for everyone who may import something, the
settings for administrators."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import is_admin
from crm.core.navigation import NavItem, nav_register


def _may_import(user: Any) -> bool:
    from crm.imports.selectors import import_can_any

    return import_can_any(user)


nav_register(
    NavItem("imports", _("数据导入"), "import_list", "file-import", _may_import, 80, group="data")
)
nav_register(
    NavItem("import_settings", _("导入设置"), "import_settings", "settings", is_admin, 60, "admin")
)
