"""The header bell: one COUNT query per page render; the dropdown loads when opened."""

from __future__ import annotations

from typing import Any

from django import template

from crm.notifications.selectors import notification_unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context: Any) -> dict[str, Any]:
    user = context.get("user")
    request = context.get("request")
    if user is None or not getattr(user, "is_authenticated", False):
        return {"show": False}
    return {
        "show": True,
        "unread": notification_unread_count(actor=user),
        "next": request.get_full_path() if request is not None else "",
    }
