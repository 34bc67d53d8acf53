"""Template filters of quotes: money as ¥1,280,000.00, amounts in capital numerals, status
badges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from crm.quotes.rmb import rmb_upper

register = template.Library()

MASK = "****"
STATUS_COLORS = {
    "draft": "secondary",
    "sent": "blue",
    "accepted": "green",
    "rejected": "red",
    "expired": "orange",
}
SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "¥", "GBP": "£"}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or value == MASK:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    """12345.6 → ¥12,345.60; a masked value stays masked."""
    if value == MASK:
        return MASK
    number = _decimal(value)
    if number is None:
        return "—"
    symbol = SYMBOLS.get(str(currency or "CNY").upper(), f"{currency} ")
    sign = "-" if number < 0 else ""
    return f"{sign}{symbol}{abs(number).quantize(Decimal('0.01')):,.2f}"


@register.filter
def plain_money(value: Any) -> str:
    """12345.6 → 12,345.60 (for table cells under a ¥ column header)."""
    if value == MASK:
        return MASK
    number = _decimal(value)
    if number is None:
        return "—"
    return f"{number.quantize(Decimal('0.01')):,.2f}"


@register.filter
def number(value: Any) -> str:
    """2.00 → 2, 2.50 → 2.5: quantities and percentages without trailing zeros."""
    number = _decimal(value)
    if number is None:
        return "" if value in (None, "") else str(value)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@register.filter
def amount_in_words(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return MASK if value == MASK else ""
    return rmb_upper(number)


@register.filter
def status_color(status: str) -> str:
    return STATUS_COLORS.get(str(status), "secondary")
