"""Small template helpers of the customer pages: relative times, the header's quick-add check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def can_create_customer(user: Any) -> bool:
    """Whether the header shows "+ 新建客户" (the view checks again: this only hides a button)."""
    from crm.access.visibility import can
    from crm.customers.models import Customer

    return bool(getattr(user, "is_authenticated", False)) and can(user, "create", Customer)


@register.filter
def since(value: dt.datetime | None) -> str:
    """刚刚 / 5 分钟前 / 今天 14:05 / 昨天 09:30 / 3 天前 / 2026-11-21."""
    if not value:
        return ""
    now = timezone.localtime()
    local = timezone.localtime(value)
    seconds = (now - local).total_seconds()
    if 0 <= seconds < 60:
        return _("刚刚")
    if 0 <= seconds < 3600:
        return _("%(n)d 分钟前") % {"n": seconds // 60}
    days = (now.date() - local.date()).days
    if days == 0:
        return _("今天 %(t)s") % {"t": local.strftime("%H:%M")}
    if days == 1:
        return _("昨天 %(t)s") % {"t": local.strftime("%H:%M")}
    if 1 < days < 7:
        return _("%(n)d 天前") % {"n": days}
    return local.strftime("%Y-%m-%d")


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def phone_display(value: Any) -> str:
    """+8613812345678 → 138 1234 5678 (a masked or unparsable value is shown as it is)."""
    text = str(value or "")
    if not text.startswith("+"):
        return text
    import phonenumbers

    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
