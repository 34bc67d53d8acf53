from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm.core.navigation import nav_items, nav_menu


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    return {
        "nav_main": nav_menu(user),
        "nav_admin": nav_items(user, "admin"),
        "nav_current": match.url_name if match else "",
    }
