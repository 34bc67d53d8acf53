"""Display helpers of the contract pages: money as ¥1,280,000.00 (a masked value passes
through as ****), and the colour of each status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}
STATUS_COLORS = {
    "draft": "secondary",
    "pending_approval": "yellow",
    "active": "green",
    "closed": "blue",
    "cancelled": "red",
}
INSTALMENT_COLORS = {
    "paid": "green",
    "overdue": "red",
    "due_soon": "orange",
    "partial": "azure",
    "open": "secondary",
}


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    """Decimal → ¥1,280,000.00; a masked string (****) as it is; None → empty."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    symbol = SYMBOLS.get(currency or "CNY", f"{currency} ")
    return f"{symbol}{Decimal(value):,.2f}"


@register.filter
def status_color(status: str) -> str:
    return STATUS_COLORS.get(str(status), "secondary")


@register.filter
def instalment_color(state: str) -> str:
    return INSTALMENT_COLORS.get(str(state), "secondary")


@register.filter
def percent_of(part: Any, whole: Any) -> int:
    """0–100 for a progress bar; 0 when either side is masked or missing."""
    if not isinstance(part, Decimal) or not isinstance(whole, Decimal) or whole <= 0:
        return 0
    return max(0, min(100, int(part * 100 / whole)))
