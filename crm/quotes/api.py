"""Products (/products) and quotes (/quotes) with their revisions.

Thin, like the pages: parse input, call one selector or service, shape the output. A quote
outside the caller's scope is a 404 like a missing one; every amount of a quote follows the
field rule on the quote's `total` (masked as "****"). Money is sent and returned as decimal
strings ("12000.00").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from crm.access.fieldsec import present
from crm.access.models import User
from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    cursor_errors,
    enum_schema,
    page_limit,
    page_out,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.quotes import selectors, services
from crm.quotes.models import Product, Quote, QuoteStatus

router = Router()

PRODUCTS = ["products"]
QUOTES = ["quotes"]
MASK = "****"

Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
Quantity = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
# Negative values pass the schema so the service can say what is wrong in the user's language.
Price = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


def _resolve(getter: Callable[[int], Any], field: str, pk: int | None) -> Any:
    """A record chosen by id in the body: missing or invisible is the field's fault (422)."""
    if pk is None:
        return None
    try:
        return getter(pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _name(user: User | None) -> str | None:
    return user.name if user is not None else None


# ================================================================= products


class PriceOut(Schema):
    price_list_id: int
    price_list: str
    price: str
    min_quantity: str


class ProductOut(Schema):
    id: int
    version: int
    code: str | None = None
    name: str | None = None
    category: str | None = None
    unit: str | None = None
    list_price: str | None = None
    tax_rate: str | None = None
    description: str | None = None
    is_active: bool
    prices: list[PriceOut] = []
    price: str | None = Field(None, description="?price_list= 时：该价格表下的单价（否则标准价）")


def _product_out(
    actor: Any, product: Product, prices: dict[int, list[dict[str, Any]]], price: Any = None
) -> dict[str, Any]:
    shown = present(actor, product, list(services.PRODUCT_FIELDS))
    for key in ("list_price", "tax_rate"):
        if key in shown and shown[key] is not None:
            shown[key] = str(shown[key])
    out: dict[str, Any] = {
        "id": product.pk,
        "version": product.version,
        **shown,
        "is_active": product.is_active,
        "prices": prices.get(product.pk, []),
    }
    if price is not None:
        out["price"] = str(price)
    return out


def _prices(actor: Any, products: list[Product]) -> dict[int, list[dict[str, Any]]]:
    lists = {pl.pk: pl for pl in selectors.pricelist_list(actor=actor, active_only=True)}
    out: dict[int, list[dict[str, Any]]] = {}
    for pl in lists.values():
        for item in selectors.pricelist_items(actor=actor, price_list=pl):
            if item.product_id in {p.pk for p in products}:
                out.setdefault(item.product_id, []).append(
                    {
                        "price_list_id": pl.pk,
                        "price_list": pl.name,
                        "price": str(item.price),
                        "min_quantity": str(item.min_quantity),
                    }
                )
    return out


class ProductFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="编码、名称或分类")
    category: Text | None = Field(None, max_length=50)
    active: bool | None = Field(None, description="true 在售（默认全部）")
    price_list: Id | None = Field(None, description="按该价格表给出 price")


@router.get(
    "/products", response={200: PageOut[ProductOut], **ERRORS}, exclude_unset=True, tags=PRODUCTS
)
def product_list(request: HttpRequest, filters: Query[ProductFilters]) -> dict:
    """The product catalogue with each product's prices in the active price lists."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit", "price_list"}, exclude_none=True)
    price_list = _resolve(
        lambda i: selectors.pricelist_get(actor=actor, price_list_id=i),
        "price_list",
        filters.price_list,
    )
    with cursor_errors(filters.cursor):
        page = selectors.product_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    prices = _prices(actor, page.items)
    return page_out(
        page,
        lambda p: _product_out(
            actor,
            p,
            prices,
            services.product_price(p, price_list) if price_list is not None else None,
        ),
    )


class ProductIn(Schema):
    code: Text = Field(max_length=50)
    name: Text = Field(max_length=200)
    category: Text = Field("", max_length=50)
    unit: Text = Field("台", max_length=20)
    list_price: Money = Decimal("0")
    tax_rate: Percent | None = Field(None, description="默认取报价设置的默认税率")
    description: Text = Field("", max_length=5000)
    is_active: bool = True


class ProductPatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    code: Text = Field(UNSET, max_length=50)
    name: Text = Field(UNSET, max_length=200)
    category: Text = Field(UNSET, max_length=50)
    unit: Text = Field(UNSET, max_length=20)
    list_price: Money = Field(UNSET)
    tax_rate: Percent = Field(UNSET)
    description: Text = Field(UNSET, max_length=5000)
    is_active: bool = Field(UNSET, description="false：停售")


def _product_detail(actor: Any, product_id: int) -> dict[str, Any]:
    product = selectors.product_get(actor=actor, product_id=product_id)
    return _product_out(actor, product, _prices(actor, [product]))


@router.post("/products", response={201: ProductOut, **ERRORS}, exclude_unset=True, tags=PRODUCTS)
def product_create(request: HttpRequest, payload: ProductIn) -> Status:
    """Administrators only."""
    actor = request.user
    product = services.product_create(actor=actor, data=payload.model_dump())
    return Status(201, _product_detail(actor, product.pk))


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS},
    exclude_unset=True,
    tags=PRODUCTS,
)
def product_detail(request: HttpRequest, product_id: Id) -> dict:
    return _product_detail(request.user, product_id)


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS},
    exclude_unset=True,
    tags=PRODUCTS,
)
def product_update(request: HttpRequest, product_id: Id, payload: ProductPatchIn) -> dict:
    """Administrators only; a stale `version` is a 409."""
    actor = request.user
    product = selectors.product_get(actor=actor, product_id=product_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    services.product_update(actor=actor, product=product, expected_version=version, data=data)
    return _product_detail(actor, product_id)


# ================================================================= quotes: output


class QuoteLineOut(Schema):
    id: int | None = None
    position: int | None = None
    product_id: int | None = None
    product_code: str = ""
    name: str
    description: str = ""
    unit: str = ""
    quantity: str
    unit_price: str
    discount_pct: str
    tax_rate: str
    amount: str


class TotalsOut(Schema):
    gross: str | None = None
    line_discount: str | None = None
    subtotal: str | None = None
    discount_amount: str | None = None
    net: str | None = None
    tax_amount: str | None = None
    total: str | None = None
    total_excl_tax: str | None = None
    total_in_words: str | None = Field(None, description="大写金额（人民币）")


class RevisionOut(Schema):
    number: int
    created_at: dt.datetime
    created_by_id: int | None = None
    created_by: str | None = None
    note: str
    total: str
    changes: dict[str, Any] = {}


class QuoteOut(Schema):
    id: int
    version: int
    number: str | None = None
    title: str | None = None
    status: str | None = None
    status_label: str
    revision: int
    customer_id: int
    customer: str | None = None
    opportunity_id: int | None = None
    contact_id: int | None = None
    price_list_id: int | None = None
    currency: str | None = None
    valid_until: dt.date | None = None
    past_validity: bool
    discount_pct: str | None = None
    tax_included: bool
    subtotal: str | None = None
    discount_amount: str | None = None
    tax_amount: str | None = None
    total: str | None = None
    terms: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    owner: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut] = []
    totals: TotalsOut
    revisions: list[RevisionOut] = []


class RevisionDetailOut(RevisionOut):
    header: dict[str, Any]
    lines: list[QuoteLineOut]
    totals: TotalsOut


HEADER_SECURED = ["number", "title", "status", "valid_until", "currency", "terms", "notes"]


def _masked(value: Any, amounts: bool) -> str | None:
    if value is None:
        return None
    return str(value) if amounts else MASK


def _quote_out(actor: Any, quote: Quote, amounts: bool) -> dict[str, Any]:
    from django.utils import timezone

    shown = present(actor, quote, HEADER_SECURED)
    customer = present(actor, quote.customer, ["name"]).get("name")
    out: dict[str, Any] = {
        "id": quote.pk,
        "version": quote.version,
        **shown,
        "status_label": services.status_label(quote.status),
        "revision": quote.revision,
        "customer_id": quote.customer_id,
        "customer": customer,
        "opportunity_id": quote.opportunity_id,
        "contact_id": quote.contact_id,
        "price_list_id": quote.price_list_id,
        "past_validity": quote.is_open and quote.is_past_validity(timezone.localdate()),
        "discount_pct": _masked(quote.discount_pct, amounts),
        "tax_included": quote.tax_included,
        "subtotal": _masked(quote.subtotal, amounts),
        "discount_amount": _masked(quote.discount_amount, amounts),
        "tax_amount": _masked(quote.tax_amount, amounts),
        "total": _masked(quote.total, amounts),
        "owner_id": quote.owner_id,
        "owner": _name(quote.owner),
        "created_at": quote.created_at,
        "updated_at": quote.updated_at,
    }
    return out


def _totals_out(totals: dict[str, Any], amounts: bool, currency: str) -> dict[str, Any]:
    from crm.quotes.rmb import rmb_upper

    keys = list(TotalsOut.model_fields)
    out = {k: totals.get(k) for k in keys if k != "total_in_words" and k in totals}
    if amounts and totals.get("total") not in (None, MASK) and currency == "CNY":
        out["total_in_words"] = rmb_upper(totals["total"])
    return out


def _revision_out(revision: Any, amounts: bool) -> dict[str, Any]:
    changes = revision.changes or {}
    if not amounts and changes:
        from crm.quotes.revisions import describe_changes

        # The same masking as the history page: prices and totals become ****.
        changes = {"rows": describe_changes(changes, amounts=False)}
    return {
        "number": revision.number,
        "created_at": revision.created_at,
        "created_by_id": revision.created_by_id,
        "created_by": _name(revision.created_by),
        "note": revision.note,
        "total": _masked(revision.total, amounts) or "",
        "changes": changes,
    }


def _quote_detail(actor: Any, quote_id: int) -> dict[str, Any]:
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    amounts = selectors.quote_amounts_visible(actor)
    doc = selectors.quote_document(actor=actor, quote=quote)
    return {
        **_quote_out(actor, quote, amounts),
        "lines": doc["lines"],
        "totals": _totals_out(doc["totals"], amounts, quote.currency),
        "revisions": [
            _revision_out(r, amounts) for r in selectors.quote_revisions(actor=actor, quote=quote)
        ],
    }


# ================================================================= quotes: list, create


class QuoteFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="报价单号、标题或客户名称")
    status: Text | None = Field(
        None, max_length=10, json_schema_extra=enum_schema(list(QuoteStatus.values))
    )
    customer: Id | None = None
    opportunity: Id | None = None
    owner: Text | None = Field(None, max_length=20, pattern=r"^(me|[1-9][0-9]{0,17})$")


@router.get("/quotes", response={200: PageOut[QuoteOut], **ERRORS}, exclude_unset=True, tags=QUOTES)
def quote_list(request: HttpRequest, filters: Query[QuoteFilters]) -> dict:
    """Quotes the caller may see, newest first, keyset-paginated."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    amounts = selectors.quote_amounts_visible(actor)
    with cursor_errors(filters.cursor):
        page = selectors.quote_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda q: _quote_out(actor, q, amounts))


class QuoteLineIn(Schema):
    id: Id | None = Field(None, description="修订时：保留并修改当前版本的这一行")
    product_id: Id | None = None
    name: Text = Field("", max_length=200, description="不选产品时必填")
    description: Text = Field("", max_length=500)
    unit: Text = Field("", max_length=20)
    quantity: Quantity
    unit_price: Price | None = Field(None, description="留空：按价格表或标准价")
    discount_pct: Percent = Decimal("0")
    tax_rate: Percent | None = Field(None, description="留空：产品税率或默认税率")


def _lines(payload_lines: list[QuoteLineIn]) -> list[dict[str, Any]]:
    return [
        {
            "id": line.id,
            "product": line.product_id,
            "name": line.name,
            "description": line.description,
            "unit": line.unit,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_pct": line.discount_pct,
            "tax_rate": line.tax_rate,
        }
        for line in payload_lines
    ]


class QuoteHeaderIn(Schema):
    title: Text = Field(UNSET, max_length=200)
    contact_id: Id | None = Field(UNSET)
    price_list_id: Id | None = Field(UNSET)
    currency: Text = Field(UNSET, max_length=3)
    valid_until: dt.date | None = Field(UNSET)
    discount_pct: Percent = Field(UNSET)
    tax_included: bool = Field(UNSET)
    terms: Text = Field(UNSET, max_length=5000)
    notes: Text = Field(UNSET, max_length=5000)


class QuoteCreateIn(QuoteHeaderIn):
    customer_id: Id | None = Field(None, description="客户；给了 opportunity_id 时可省略")
    opportunity_id: Id | None = None
    lines: list[QuoteLineIn] = Field(
        default_factory=list, max_length=200, description="为空且给了商机时：带入商机的产品明细"
    )
    note: Text = Field("", max_length=300)
    owner_id: Id | None = Field(None, description="负责人，默认自己")


def _header(payload: QuoteHeaderIn) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, include=set(QuoteHeaderIn.model_fields))
    if "contact_id" in data:
        data["contact"] = data.pop("contact_id")
    if "price_list_id" in data:
        data["price_list"] = data.pop("price_list_id")
    return data


@router.post("/quotes", response={201: QuoteDetailOut, **ERRORS}, exclude_unset=True, tags=QUOTES)
def quote_create(request: HttpRequest, payload: QuoteCreateIn) -> Status:
    """A new quote (revision 1) for a customer or one of its opportunities."""
    from crm.access import selectors as access_selectors
    from crm.customers.selectors import customer_get

    actor = request.user
    opportunity = _resolve(
        lambda i: selectors.opportunity_get(actor=actor, opportunity_id=i),
        "opportunity_id",
        payload.opportunity_id,
    )
    customer = _resolve(
        lambda i: customer_get(actor=actor, customer_id=i), "customer_id", payload.customer_id
    )
    if customer is None:
        if opportunity is None:
            raise ValidationFailed(_("请指定客户或商机"), field="customer_id")
        customer = opportunity.customer
    owner = _resolve(
        lambda i: access_selectors.user_get(actor=actor, user_id=i), "owner_id", payload.owner_id
    )
    lines = _lines(payload.lines)
    if not lines and opportunity is not None:
        lines = [
            {"product": x.product, "quantity": x.quantity, "unit_price": x.unit_price}
            for x in selectors.opportunity_products(actor=actor, opportunity_id=opportunity.pk)
        ]
    quote = services.quote_create(
        actor=actor,
        customer=customer,
        opportunity=opportunity,
        data=_header(payload),
        lines=lines,
        owner=owner,
        note=payload.note,
    )
    return Status(201, _quote_detail(actor, quote.pk))


@router.get(
    "/quotes/{quote_id}", response={200: QuoteDetailOut, **ERRORS}, exclude_unset=True, tags=QUOTES
)
def quote_detail(request: HttpRequest, quote_id: Id) -> dict:
    """A quote with its current lines and every revision (who changed what)."""
    return _quote_detail(request.user, quote_id)


class QuotePatchIn(QuoteHeaderIn):
    """A change is saved as a new revision. `lines` replaces the lines: a line with the `id`
    of a current line changes it, one without is new, current lines left out are removed;
    omit `lines` to keep them."""

    version: int = Field(ge=0, le=INT32_MAX)
    lines: list[QuoteLineIn] = Field(UNSET, max_length=200)
    note: Text = Field("", max_length=300, description="修订说明")


@router.patch(
    "/quotes/{quote_id}", response={200: QuoteDetailOut, **ERRORS}, exclude_unset=True, tags=QUOTES
)
def quote_update(request: HttpRequest, quote_id: Id, payload: QuotePatchIn) -> dict:
    """Revise a quote (a new revision when something changed). A stale `version` is a 409."""
    actor = request.user
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    sent = payload.model_fields_set
    services.quote_revise(
        actor=actor,
        quote=quote,
        expected_version=payload.version,
        data=_header(payload),
        lines=_lines(payload.lines) if "lines" in sent else None,
        note=payload.note,
    )
    return _quote_detail(actor, quote_id)


class QuoteStatusIn(Schema):
    status: Text = Field(max_length=10, json_schema_extra=enum_schema(list(QuoteStatus.values)))
    version: int | None = Field(None, ge=0, le=INT32_MAX)


@router.post(
    "/quotes/{quote_id}/status",
    response={200: QuoteDetailOut, **ERRORS},
    exclude_unset=True,
    tags=QUOTES,
)
def quote_status(request: HttpRequest, quote_id: Id, payload: QuoteStatusIn) -> dict:
    """draft → sent → accepted / rejected; sent → draft; rejected / expired → draft."""
    actor = request.user
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    services.quote_set_status(
        actor=actor, quote=quote, status=payload.status, expected_version=payload.version
    )
    return _quote_detail(actor, quote_id)


@router.delete("/quotes/{quote_id}", response={204: None, **ERRORS}, tags=QUOTES)
def quote_delete(request: HttpRequest, quote_id: Id) -> Status:
    """To the recycle bin (restorable)."""
    actor = request.user
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    services.quote_delete(actor=actor, quote=quote)
    return Status(204, None)


# ================================================================= revisions


@router.get(
    "/quotes/{quote_id}/revisions",
    response={200: list[RevisionOut], **ERRORS},
    tags=QUOTES,
)
def quote_revision_list(request: HttpRequest, quote_id: Id) -> list[dict[str, Any]]:
    """Every revision, newest first, with what changed against the one before."""
    actor = request.user
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    amounts = selectors.quote_amounts_visible(actor)
    return [_revision_out(r, amounts) for r in selectors.quote_revisions(actor=actor, quote=quote)]


@router.get(
    "/quotes/{quote_id}/revisions/{number}",
    response={200: RevisionDetailOut, **ERRORS},
    tags=QUOTES,
)
def quote_revision_detail(
    request: HttpRequest, quote_id: Id, number: Annotated[int, Field(ge=1, le=INT32_MAX)]
) -> dict:
    """One revision as it was: header, lines and totals."""
    actor = request.user
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    doc = selectors.quote_document(actor=actor, quote=quote, number=number)
    amounts = bool(doc["amounts"])
    header = dict(doc["header"])
    return {
        **_revision_out(doc["revision"], amounts),
        "header": header,
        "lines": doc["lines"],
        "totals": _totals_out(doc["totals"], amounts, str(header.get("currency") or "CNY")),
    }
