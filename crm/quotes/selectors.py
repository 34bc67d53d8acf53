"""Every read of products, price lists, opportunity products and quotes, starting from the
permission layer (a quote outside the actor's scope is missing: NotFound, never 403)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import field_level
from crm.access.models import FieldAccess
from crm.access.visibility import can, visible, visible_get
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, paginate
from crm.quotes.models import (
    OpportunityProduct,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteRevision,
    QuoteStatus,
)

READABLE = (FieldAccess.READONLY, FieldAccess.EDITABLE)


def quote_amounts_visible(actor: Any) -> bool:
    """Every amount of a quote (prices, lines, totals) follows the field rule on `total`."""
    return field_level(actor, "quote", "total") in READABLE


# ================================================================= products


def product_list(
    *,
    actor: Any,
    filters: dict[str, Any] | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    filters = filters or {}
    qs = visible(actor, Product)
    q = str(filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(category__icontains=q))
    if filters.get("category"):
        qs = qs.filter(category=str(filters["category"]))
    active = filters.get("active")
    if active in (True, "1", "true", "yes"):
        qs = qs.filter(is_active=True)
    elif active in (False, "0", "false", "no"):
        qs = qs.filter(is_active=False)
    return paginate(qs, ordering=("category", "code", "id"), cursor=cursor, limit=limit)


def product_get(*, actor: Any, product_id: Any) -> Product:
    return visible_get(actor, Product, product_id)


def product_choices(*, actor: Any, include_ids: list[int] | None = None) -> list[Product]:
    """Products for a picker: those on sale, plus the inactive ones already on the record."""
    qs = visible(actor, Product)
    cond = Q(is_active=True)
    if include_ids:
        cond |= Q(pk__in=include_ids)
    return list(qs.filter(cond).order_by("category", "code"))


def product_categories(*, actor: Any) -> list[str]:
    return list(
        visible(actor, Product)
        .exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def product_prices(*, actor: Any, product_ids: list[int]) -> dict[int, dict[int, Decimal]]:
    """{product id: {price list id: price}} for the active price lists."""
    if not can(actor, "view", PriceList) or not product_ids:
        return {}
    out: dict[int, dict[int, Decimal]] = {}
    rows = PriceListItem.objects.filter(
        product_id__in=product_ids, price_list__is_active=True
    ).values_list("product_id", "price_list_id", "price")
    for product_id, list_id, price in rows:
        out.setdefault(product_id, {})[list_id] = price
    return out


# ================================================================= price lists


def pricelist_list(*, actor: Any, active_only: bool = False) -> list[PriceList]:
    qs = visible(actor, PriceList)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("-is_default", "name"))


def pricelist_get(*, actor: Any, price_list_id: Any) -> PriceList:
    return visible_get(actor, PriceList, price_list_id)


def pricelist_items(*, actor: Any, price_list: PriceList) -> list[PriceListItem]:
    if not can(actor, "view", price_list):
        raise NotFound()
    return list(
        PriceListItem.objects.filter(price_list=price_list)
        .select_related("product")
        .order_by("product__category", "product__code")
    )


def pricelist_item_get(*, actor: Any, item_id: Any) -> PriceListItem:
    try:
        item = PriceListItem.objects.select_related("price_list", "product").get(pk=int(item_id))
    except (TypeError, ValueError, OverflowError, PriceListItem.DoesNotExist) as exc:
        raise NotFound() from exc
    if not can(actor, "view", item.price_list):
        raise NotFound()
    return item


def pricelist_counts() -> dict[int, int]:
    from django.db.models import Count

    return dict(
        PriceListItem.objects.values("price_list_id")
        .annotate(n=Count("id"))
        .values_list("price_list_id", "n")
    )


# ================================================================= opportunity products


def _opportunity(actor: Any, opportunity_id: Any) -> Any:
    from crm.opportunities.models import Opportunity

    return visible_get(actor, Opportunity.objects.select_related("customer"), opportunity_id)


def opportunity_get(*, actor: Any, opportunity_id: Any) -> Any:
    return _opportunity(actor, opportunity_id)


def opportunity_products(*, actor: Any, opportunity_id: Any) -> list[OpportunityProduct]:
    opportunity = _opportunity(actor, opportunity_id)
    return list(
        OpportunityProduct.objects.filter(opportunity=opportunity)
        .select_related("product")
        .order_by("id")
    )


def opportunity_product_get(*, actor: Any, line_id: Any) -> OpportunityProduct:
    try:
        line = OpportunityProduct.objects.select_related("opportunity", "product").get(
            pk=int(line_id)
        )
    except (TypeError, ValueError, OverflowError, OpportunityProduct.DoesNotExist) as exc:
        raise NotFound() from exc
    # The line is as visible as its opportunity.
    _opportunity(actor, line.opportunity_id)
    return line


# ================================================================= quotes


def _quotes(actor: Any) -> QuerySet[Quote]:
    return visible(actor, Quote).select_related("customer", "owner", "opportunity")


def quote_filter(actor: Any, filters: dict[str, Any]) -> QuerySet[Quote]:
    qs = _quotes(actor)
    q = str(filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(number__icontains=q) | Q(title__icontains=q) | Q(customer__name__icontains=q)
        )
    status = filters.get("status")
    if status:
        if status not in dict(QuoteStatus.choices):
            raise ValidationFailed(_("未知的报价状态"), field="status")
        qs = qs.filter(status=status)
    for key in ("customer", "opportunity"):
        value = filters.get(key)
        if value not in (None, ""):
            try:
                qs = qs.filter(**{f"{key}_id": int(value)})
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(_("应为记录 id"), field=key) from exc
    owner = filters.get("owner")
    if owner == "me":
        qs = qs.filter(owner_id=actor.pk)
    elif owner not in (None, ""):
        try:
            qs = qs.filter(owner_id=int(owner))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("应为 me 或用户 id"), field="owner") from exc
    return qs


def quote_list(
    *, actor: Any, filters: dict[str, Any] | None = None, cursor: str | None = None, limit: int = 30
) -> Page:
    return paginate(
        quote_filter(actor, filters or {}), ordering=("-id",), cursor=cursor, limit=limit
    )


def quote_get(*, actor: Any, quote_id: Any) -> Quote:
    return visible_get(
        actor,
        Quote.objects.select_related("customer", "owner", "opportunity", "contact", "price_list"),
        quote_id,
    )


def quote_lines(quote: Quote) -> list[Any]:
    """The current revision's lines of a quote the caller already got through quote_get."""
    return list(quote.lines.select_related("product").order_by("position", "id"))


def quote_revisions(*, actor: Any, quote: Quote) -> list[QuoteRevision]:
    if not can(actor, "view", quote):
        raise NotFound()
    return list(
        QuoteRevision.objects.filter(quote=quote).select_related("created_by").order_by("-number")
    )


def quote_revision_get(*, actor: Any, quote: Quote, number: Any) -> QuoteRevision:
    if not can(actor, "view", quote):
        raise NotFound()
    try:
        return QuoteRevision.objects.select_related("created_by").get(
            quote=quote, number=int(number)
        )
    except (TypeError, ValueError, OverflowError, QuoteRevision.DoesNotExist) as exc:
        raise NotFound() from exc


def customer_quotes(*, actor: Any, customer_id: int, limit: int = 20) -> list[Quote]:
    return list(_quotes(actor).filter(customer_id=customer_id).order_by("-id")[:limit])


def opportunity_quotes(*, actor: Any, opportunity_id: int, limit: int = 20) -> list[Quote]:
    return list(_quotes(actor).filter(opportunity_id=opportunity_id).order_by("-id")[:limit])


def customer_quote_contacts(*, actor: Any, customer_id: int) -> list[Any]:
    from crm.customers.models import Contact

    return list(visible(actor, Contact).filter(customer_id=customer_id).order_by("id"))


def quote_customer_choices(*, actor: Any, ids: list[Any]) -> dict[int, str]:
    from crm.customers.models import Customer

    clean = [int(i) for i in ids if str(i).isdigit()]
    return dict(visible(actor, Customer).filter(pk__in=clean).values_list("pk", "name"))


@dataclass
class QuoteStats:
    open_count: int
    open_total: Decimal
    expiring: int


def quote_home_stats(*, actor: Any, today: dt.date | None = None) -> QuoteStats:
    from django.db.models import Count, Sum

    today = today or timezone.localdate()
    mine = visible(actor, Quote).filter(
        owner_id=actor.pk, status__in=[QuoteStatus.DRAFT, QuoteStatus.SENT]
    )
    agg = mine.aggregate(n=Count("id"), total=Sum("total"))
    expiring = mine.filter(
        status=QuoteStatus.SENT,
        valid_until__gte=today,
        valid_until__lte=today + dt.timedelta(days=7),
    ).count()
    return QuoteStats(agg["n"] or 0, agg["total"] or Decimal(0), expiring)


# ================================================================= documents (snapshots)

MASK = "****"


def _masked(snapshot: dict[str, Any], amounts: bool) -> dict[str, Any]:
    """A snapshot as the actor may read it: every amount masked when the rule on the quote's
    `total` hides or masks it."""
    if amounts:
        return snapshot
    header = dict(snapshot.get("header") or {})
    header["discount_pct"] = MASK
    lines = [{**x, "unit_price": MASK, "amount": MASK} for x in snapshot.get("lines") or []]
    totals = {k: MASK for k in (snapshot.get("totals") or {}) if k != "tax_groups"}
    return {"header": header, "lines": lines, "totals": {**totals, "tax_groups": []}}


def quote_document(*, actor: Any, quote: Quote, number: Any = None) -> dict[str, Any]:
    """A revision of the quote (the latest when `number` is None) as pages, the print view
    and the API show it: header, lines, totals, from the revision's snapshot."""
    if number is None:
        revision = (
            QuoteRevision.objects.filter(quote=quote)
            .select_related("created_by")
            .order_by("-number")
            .first()
        )
        if revision is None or not can(actor, "view", quote):
            raise NotFound()
    else:
        revision = quote_revision_get(actor=actor, quote=quote, number=number)
    amounts = quote_amounts_visible(actor)
    snapshot = _masked(revision.snapshot or {}, amounts)
    return {
        "revision": revision,
        "number": revision.number,
        "is_latest": revision.number == quote.revision,
        "header": snapshot.get("header") or {},
        "lines": snapshot.get("lines") or [],
        "totals": snapshot.get("totals") or {},
        "amounts": amounts,
    }


def quote_history(*, actor: Any, quote: Quote) -> list[dict[str, Any]]:
    """Every revision, newest first, with who, when, the note and what changed."""
    from crm.quotes.revisions import describe_changes

    amounts = quote_amounts_visible(actor)
    return [
        {
            "revision": r,
            "total": r.total if amounts else MASK,
            "rows": describe_changes(r.changes or {}, amounts=amounts),
        }
        for r in quote_revisions(actor=actor, quote=quote)
    ]


def quote_compare(*, actor: Any, quote: Quote, a: Any, b: Any) -> dict[str, Any]:
    from crm.quotes.revisions import compare_rows

    amounts = quote_amounts_visible(actor)
    old = quote_revision_get(actor=actor, quote=quote, number=a)
    new = quote_revision_get(actor=actor, quote=quote, number=b)
    rows = compare_rows(_masked(old.snapshot or {}, amounts), _masked(new.snapshot or {}, amounts))
    return {"old": old, "new": new, **rows}
