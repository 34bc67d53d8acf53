"""Formatting for opportunity pages: money as ¥1,280,000.00, short amounts on cards (¥128万),
durations in days."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def money(value: Any, currency: str = "CNY") -> str:
    """¥1,280,000.00; a masked value (****) stays masked; nothing is "—"."""
    if isinstance(value, str) and "*" in value:
        return value
    number = _decimal(value)
    if number is None:
        return "—"
    sign = "¥" if currency in ("", "CNY", None) else f"{currency} "
    return f"{sign}{number:,.2f}"


@register.filter
def money_short(value: Any) -> str:
    """A card's amount: ¥8,600 / ¥12.5万 / ¥3.2亿 (Chinese units read faster than digits)."""
    if isinstance(value, str) and "*" in value:
        return value
    number = _decimal(value)
    if number is None:
        return "—"
    if number >= Decimal("100000000"):
        return _("¥%(n)s亿") % {
            "n": f"{number / Decimal('100000000'):,.2f}".rstrip("0").rstrip(".")
        }
    if number >= Decimal("10000"):
        return _("¥%(n)s万") % {"n": f"{number / Decimal('10000'):,.1f}".rstrip("0").rstrip(".")}
    return f"¥{number:,.0f}"


@register.filter
def days(seconds: Any) -> str:
    """Seconds as 3天 / 5小时 / 不到1小时."""
    try:
        s = int(seconds)
    except (TypeError, ValueError):
        return "—"
    if s >= 86400:
        return _("%(n)d天") % {"n": s // 86400}
    if s >= 3600:
        return _("%(n)d小时") % {"n": s // 3600}
    return _("不到1小时")


@register.filter
def in_set(value: Any, collection: Any) -> bool:
    try:
        return value in collection
    except TypeError:
        return False


# ----------------------------------------------------------------- kanban cards
# The board shows up to 50 cards a column: rendering each through the template engine was
# most of the page's time (about 2 ms a card). A card is one f-string here, every value
# escaped with html.escape (quote=True) before it goes in.


def card_html(card: Any, *, editable: bool, prefix: str, board: str, labels: dict[str, str]) -> str:
    from html import escape
    from urllib.parse import quote

    pk = int(card.pk)
    move = f"{prefix}{pk}/move/"
    name = escape(card.name_shown or labels["unnamed"])
    amount = (
        f'<strong class="kanban-card-amount">{escape(money_short(card.amount_shown))}</strong>'
        if card.amount_shown is not None
        else ""
    )
    button = (
        f'<a class="btn btn-sm btn-ghost-primary kanban-card-move" href="{move}" '
        f'hx-get="{move}?ctx=kanban&amp;board={escape(quote(board, safe=""))}" '
        f'hx-target="#opp-modal-content" data-opens-modal>{labels["move"]}'
        f'<span class="visually-hidden"> {name}</span></a>'
        if editable
        else ""
    )
    stalled = bool(card.stalled)
    return (
        f'<article class="kanban-card{"" if editable else " is-locked"}'
        f'{" is-stalled" if stalled else ""}" id="opp-card-{pk}" data-opp-id="{pk}" '
        f'data-version="{int(card.version)}" data-move-url="{move}">'
        f'<a class="kanban-card-title" href="{prefix}{pk}/">{name}</a>'
        f'<div class="kanban-card-customer">{escape(card.customer_shown or "")}</div>'
        f'<div class="kanban-card-meta">{amount}'
        f'<span class="kanban-card-owner">{escape(card.owner.name)}</span>'
        f'<span class="kanban-card-days{" text-danger" if stalled else ""}" '
        f'title="{labels["days_title"]}">{labels["days"] % {"n": int(card.days_in_stage)}}</span>'
        f"</div>{button}</article>"
    )


@register.simple_tag(takes_context=True)
def kanban_cards(context: Any, cards: Any) -> str:
    """The cards of one column (see card_html)."""
    from html import escape

    from django.utils.safestring import mark_safe

    labels = context.get("_card_labels")
    if labels is None:
        labels = {
            "unnamed": str(_("（无名称）")),
            "move": escape(str(_("移动"))),
            "days_title": escape(str(_("在本阶段停留"))),
            "days": escape(str(_("%(n)d天"))),
        }
        context.dicts[0]["_card_labels"] = labels
    editable_ids = context.get("editable_ids") or set()
    prefix = escape(str(context.get("list_url") or "/opportunities/"))
    board = str(context.get("board_query") or "")
    return mark_safe(  # noqa: S308  (every value in a card is escaped by card_html)
        "".join(
            card_html(c, editable=c.pk in editable_ids, prefix=prefix, board=board, labels=labels)
            for c in cards
        )
    )
