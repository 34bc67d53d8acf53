"""Every write to products, price lists, opportunity products and quotes.

A quote's money always comes from crm.quotes.totals.quote_totals; every save that changes a
quote makes a new QuoteRevision holding the whole quote (snapshot) and what changed against
the previous one (crm.quotes.revisions.snapshot_diff).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import require_writable
from crm.access.visibility import is_admin, report_ids, require
from crm.audit.services import audit_record, diff
from crm.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers.models import Contact, Customer
from crm.quotes import config
from crm.quotes.models import (
    OpportunityProduct,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    QuoteRevision,
    QuoteSequence,
    QuoteStatus,
)
from crm.quotes.revisions import diff_summary, snapshot_diff
from crm.quotes.totals import MAX_QUANTITY, QuoteTotals, quote_totals, to_decimal
from crm.search.services import search_index, search_remove
from crm.timeline.services import timeline_append

MAX_LINES = 200
PREFIX_RE = re.compile(r"^[A-Z0-9]{1,10}$")


def _text(data: dict[str, Any], key: str, limit: int, *, label: str = "") -> str:
    value = data.get(key)
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        raise ValidationFailed(_("不能包含空字符（NUL）"), field=key)
    if len(text) > limit:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": limit}, field=key)
    return text


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(_("日期格式应为 2026-12-31"), field=field) from exc


def _pct(value: Any, field: str) -> Decimal:
    number = to_decimal("0" if value in (None, "") else value, field)
    if number < 0 or number > 100:
        raise ValidationFailed(_("百分比应在 0 到 100 之间"), field=field)
    return number


def _require_admin(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以维护产品与价格表"))


# ================================================================= products

PRODUCT_FIELDS = ("code", "name", "category", "unit", "list_price", "tax_rate", "description")


def product_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not partial or "code" in data:
        code = _text(data, "code", 50)
        if not code:
            raise ValidationFailed(_("请填写产品编码"), field="code")
        out["code"] = code
    if not partial or "name" in data:
        name = _text(data, "name", 200)
        if not name:
            raise ValidationFailed(_("请填写产品名称"), field="name")
        out["name"] = name
    if not partial or "category" in data:
        out["category"] = _text(data, "category", 50)
    if not partial or "unit" in data:
        out["unit"] = _text(data, "unit", 20) or _("台")
    if not partial or "list_price" in data:
        price = to_decimal(data.get("list_price", "0") or "0", "list_price")
        if price < 0:
            raise ValidationFailed(_("价格不能为负数"), field="list_price")
        out["list_price"] = price
    if not partial or "tax_rate" in data:
        default = config.quote_settings().get("default_tax_rate") or "13"
        raw = data.get("tax_rate")
        out["tax_rate"] = _pct(default if raw in (None, "") else raw, "tax_rate")
    if not partial or "description" in data:
        out["description"] = _text(data, "description", 5000)
    return out


def _code_taken(code: str, exclude: int | None = None) -> bool:
    qs = Product.all_objects.filter(code=code)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


@transaction.atomic
def product_create(*, actor: Any, data: dict[str, Any]) -> Product:
    require(actor, "create", Product)
    _require_admin(actor)
    clean = product_clean(data)
    if _code_taken(clean["code"]):
        raise Conflict(_("产品编码已存在"), field="code")
    product = Product.objects.create(**clean, is_active=bool(data.get("is_active", True)))
    audit_record(action="create", actor=actor, obj=product, changes={"values": clean})
    return product


@transaction.atomic
def product_update(
    *, actor: Any, product: Product, expected_version: int | None, data: dict[str, Any]
) -> Product:
    require(actor, "edit", product)
    _require_admin(actor)
    clean = product_clean({k: v for k, v in data.items() if k in PRODUCT_FIELDS}, partial=True)
    if "code" in clean and _code_taken(clean["code"], exclude=product.pk):
        raise Conflict(_("产品编码已存在"), field="code")
    fields = list(clean)
    if "is_active" in data:
        clean["is_active"] = bool(data["is_active"])
        fields.append("is_active")
    before = {k: getattr(product, k) for k in fields}
    for key, value in clean.items():
        setattr(product, key, value)
    save_with_version(product, expected_version=expected_version, fields=fields)
    changes = diff(before, {k: getattr(product, k) for k in fields})
    if changes:
        audit_record(action="update", actor=actor, obj=product, changes=changes)
    return product


def product_set_active(
    *, actor: Any, product: Product, active: bool, expected_version: int | None = None
) -> Product:
    """停售 / 恢复在售: an inactive product stays on old quotes but cannot be added to new ones."""
    return product_update(
        actor=actor, product=product, expected_version=expected_version, data={"is_active": active}
    )


# ================================================================= price lists


def _pricelist_clean(data: dict[str, Any]) -> dict[str, Any]:
    name = _text(data, "name", 100)
    if not name:
        raise ValidationFailed(_("请填写价格表名称"), field="name")
    currency = (_text(data, "currency", 3) or "CNY").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValidationFailed(_("币种应为三位字母代码，例如 CNY"), field="currency")
    valid_from = _date(data.get("valid_from"), "valid_from")
    valid_until = _date(data.get("valid_until"), "valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationFailed(_("失效日期不能早于生效日期"), field="valid_until")
    return {
        "name": name,
        "currency": currency,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "is_default": bool(data.get("is_default")),
        "is_active": bool(data.get("is_active", True)),
    }


def _one_default(price_list: PriceList) -> None:
    if price_list.is_default:
        PriceList.objects.exclude(pk=price_list.pk).filter(is_default=True).update(is_default=False)


@transaction.atomic
def pricelist_create(*, actor: Any, data: dict[str, Any]) -> PriceList:
    require(actor, "create", PriceList)
    _require_admin(actor)
    clean = _pricelist_clean(data)
    if PriceList.objects.filter(name=clean["name"]).exists():
        raise Conflict(_("已有同名价格表"), field="name")
    price_list = PriceList.objects.create(**clean)
    _one_default(price_list)
    audit_record(action="create", actor=actor, obj=price_list, changes={"values": clean})
    return price_list


@transaction.atomic
def pricelist_update(*, actor: Any, price_list: PriceList, data: dict[str, Any]) -> PriceList:
    require(actor, "edit", price_list)
    _require_admin(actor)
    clean = _pricelist_clean(data)
    if PriceList.objects.filter(name=clean["name"]).exclude(pk=price_list.pk).exists():
        raise Conflict(_("已有同名价格表"), field="name")
    before = {k: getattr(price_list, k) for k in clean}
    for key, value in clean.items():
        setattr(price_list, key, value)
    price_list.save()
    _one_default(price_list)
    changes = diff(before, clean)
    if changes:
        audit_record(action="update", actor=actor, obj=price_list, changes=changes)
    return price_list


@transaction.atomic
def pricelist_item_set(
    *,
    actor: Any,
    price_list: PriceList,
    product: Product,
    price: Any,
    min_quantity: Any = "1",
) -> PriceListItem:
    """Set (add or change) a product's price in a price list."""
    require(actor, "edit", price_list)
    _require_admin(actor)
    value = to_decimal(price, "price", label=_("价格"))
    if value < 0:
        raise ValidationFailed(_("价格不能为负数"), field="price")
    minimum = to_decimal(min_quantity if min_quantity not in (None, "") else "1", "min_quantity")
    if minimum <= 0 or minimum > MAX_QUANTITY:
        raise ValidationFailed(_("起订量必须大于 0"), field="min_quantity")
    item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
    before = {"price": item.price, "min_quantity": item.min_quantity} if item else {}
    if item is None:
        item = PriceListItem.objects.create(
            price_list=price_list, product=product, price=value, min_quantity=minimum
        )
    else:
        item.price = value
        item.min_quantity = minimum
        item.save(update_fields=["price", "min_quantity"])
    changes = diff(before, {"price": value, "min_quantity": minimum})
    if changes:
        audit_record(
            action="update",
            actor=actor,
            obj=price_list,
            changes={"product": product.code, **changes},
        )
    return item


@transaction.atomic
def pricelist_item_remove(*, actor: Any, item: PriceListItem) -> None:
    """A price-list row is configuration, not a domain record: removed, and audited."""
    price_list = item.price_list
    require(actor, "edit", price_list)
    _require_admin(actor)
    audit_record(
        action="update",
        actor=actor,
        obj=price_list,
        changes={"product": item.product.code, "price": [str(item.price), None]},
    )
    PriceListItem.objects.filter(pk=item.pk).delete()


def product_price(
    product: Product,
    price_list: PriceList | None = None,
    *,
    quantity: Any = None,
    today: dt.date | None = None,
) -> Decimal:
    """The price list's price for the product (when the list is active and valid today and
    the quantity reaches its minimum), else the product's list price."""
    if price_list is not None and price_list.is_active:
        today = today or timezone.localdate()
        in_time = (price_list.valid_from is None or price_list.valid_from <= today) and (
            price_list.valid_until is None or price_list.valid_until >= today
        )
        if in_time:
            item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
            if item is not None:
                try:
                    enough = quantity is None or Decimal(str(quantity)) >= item.min_quantity
                except ArithmeticError:
                    enough = True
                if enough:
                    return item.price
    return product.list_price


def pricelist_default() -> PriceList | None:
    return PriceList.objects.filter(is_default=True, is_active=True).first()


# ================================================================= opportunity products


def _product_ref(
    value: Any, field: str, *, allow_inactive_id: int | None = None, allow_inactive: bool = False
) -> Product:
    if isinstance(value, Product):
        product = value
    else:
        try:
            product = Product.objects.get(pk=int(value))
        except (TypeError, ValueError, OverflowError, Product.DoesNotExist) as exc:
            raise ValidationFailed(_("请选择产品"), field=field) from exc
    if not product.is_active and not allow_inactive and product.pk != allow_inactive_id:
        raise ValidationFailed(_("该产品已停售"), field=field)
    return product


def _opportunity_products_audit(actor: Any, opportunity: Any, changes: dict[str, Any]) -> None:
    audit_record(action="update", actor=actor, obj=opportunity, changes={"products": changes})


def _quantity(value: Any, field: str = "quantity") -> Decimal:
    quantity = to_decimal(value, field, label=_("数量"))
    if quantity <= 0:
        raise ValidationFailed(_("数量必须大于 0"), field=field)
    if quantity > MAX_QUANTITY:
        raise ValidationFailed(_("数量过大"), field=field)
    return quantity


def _unit_price(value: Any, field: str = "unit_price") -> Decimal:
    price = to_decimal(value, field, label=_("单价"))
    if price < 0:
        raise ValidationFailed(_("单价不能为负数"), field=field)
    return price


@transaction.atomic
def opportunity_product_add(
    *,
    actor: Any,
    opportunity: Any,
    product: Any,
    quantity: Any = "1",
    unit_price: Any = None,
    price_list: PriceList | None = None,
) -> OpportunityProduct:
    require(actor, "edit", opportunity)
    product = _product_ref(product, "product")
    qty = _quantity(quantity)
    if unit_price in (None, ""):
        price = product_price(product, price_list or pricelist_default(), quantity=qty)
    else:
        price = _unit_price(unit_price)
    line = OpportunityProduct.objects.create(
        opportunity=opportunity, product=product, quantity=qty, unit_price=price
    )
    _opportunity_products_audit(
        actor, opportunity, {"added": {"product": product.code, "quantity": qty, "price": price}}
    )
    return line


@transaction.atomic
def opportunity_product_update(
    *, actor: Any, line: OpportunityProduct, quantity: Any, unit_price: Any
) -> OpportunityProduct:
    require(actor, "edit", line.opportunity)
    before = {"quantity": line.quantity, "unit_price": line.unit_price}
    line.quantity = _quantity(quantity)
    line.unit_price = _unit_price(unit_price)
    line.save(update_fields=["quantity", "unit_price"])
    changes = diff(before, {"quantity": line.quantity, "unit_price": line.unit_price})
    if changes:
        _opportunity_products_audit(
            actor, line.opportunity, {"changed": {"product": line.product.code, **changes}}
        )
    return line


@transaction.atomic
def opportunity_product_remove(*, actor: Any, line: OpportunityProduct) -> None:
    """A product line of an opportunity is part of the opportunity (no recycle bin of its own);
    the removal is audited on the opportunity."""
    require(actor, "edit", line.opportunity)
    _opportunity_products_audit(
        actor,
        line.opportunity,
        {"removed": {"product": line.product.code, "quantity": line.quantity}},
    )
    OpportunityProduct.objects.filter(pk=line.pk).delete()


def opportunity_products_total(opportunity: Any) -> Decimal:
    lines = list(OpportunityProduct.objects.filter(opportunity=opportunity))
    if not lines:
        return Decimal("0.00")
    return quote_totals(
        [{"quantity": x.quantity, "unit_price": x.unit_price} for x in lines], tax_included=True
    ).total


@transaction.atomic
def opportunity_amount_from_products(
    *, actor: Any, opportunity: Any, expected_version: int | None
) -> Any:
    """Set the opportunity's amount to the sum of its product lines (through the
    opportunities service, so its checks, timeline and audit apply)."""
    from crm.opportunities import services as opportunity_services

    require(actor, "edit", opportunity)
    if not OpportunityProduct.objects.filter(opportunity=opportunity).exists():
        raise ValidationFailed(_("商机还没有产品明细"), field="products")
    total = opportunity_products_total(opportunity)
    return opportunity_services.opportunity_update(
        actor=actor,
        opportunity=opportunity,
        expected_version=expected_version,
        data={"amount": total},
    )


# ================================================================= quote numbers


def quote_number_next(*, prefix: str | None = None, year: int | None = None) -> str:
    """The next free number, e.g. BJ-2026-000123. Must run inside the creating transaction:
    the UPDATE locks the sequence row until commit, so concurrent creators queue up."""
    prefix = prefix or str(config.quote_settings().get("number_prefix") or "BJ")
    year = year or timezone.localdate().year
    key = f"{prefix}-{year}"
    while True:
        if not QuoteSequence.objects.filter(key=key).update(last=F("last") + 1):
            try:
                with transaction.atomic():
                    QuoteSequence.objects.create(key=key, last=1)
            except IntegrityError:
                QuoteSequence.objects.filter(key=key).update(last=F("last") + 1)
        last = QuoteSequence.objects.filter(key=key).values_list("last", flat=True).get()
        number = f"{key}-{last:06d}"
        # Numbers typed in by hand or imported are skipped, never reused.
        if not Quote.all_objects.filter(number=number).exists():
            return number


# ================================================================= quotes

HEADER_KEYS = (
    "title",
    "contact",
    "price_list",
    "currency",
    "valid_until",
    "discount_pct",
    "tax_included",
    "terms",
    "notes",
)
# The fields of the quote entity a header key writes (field security).
_SECURED = {"title": "title", "valid_until": "valid_until", "currency": "currency"}
_SECURED |= {"discount_pct": "discount_pct", "terms": "terms", "notes": "notes"}
TRANSITIONS: dict[str, tuple[str, ...]] = {
    QuoteStatus.DRAFT: (QuoteStatus.SENT,),
    QuoteStatus.SENT: (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.DRAFT),
    QuoteStatus.REJECTED: (QuoteStatus.DRAFT,),
    QuoteStatus.EXPIRED: (QuoteStatus.DRAFT,),
    QuoteStatus.ACCEPTED: (),
}


def status_label(status: str) -> str:
    return str(dict(QuoteStatus.choices).get(status, status))


def _owner_check(actor: Any, owner: Any) -> None:
    if owner is None or owner.pk == getattr(actor, "pk", None):
        return
    if not owner.is_active:
        raise ValidationFailed(_("负责人已停用"), field="owner")
    if not (is_admin(actor) or owner.pk in set(report_ids(actor))):
        raise PermissionDenied(_("只能把报价单分配给自己或下属"), field="owner")


def _contact_ref(value: Any, customer: Customer) -> Contact | None:
    if value in (None, ""):
        return None
    if isinstance(value, Contact):
        contact: Contact | None = value
    else:
        try:
            contact = Contact.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationFailed(_("请选择该客户的联系人"), field="contact") from exc
    if contact is None or contact.customer_id != customer.pk:
        raise ValidationFailed(_("请选择该客户的联系人"), field="contact")
    return contact


def _price_list_ref(value: Any) -> PriceList | None:
    if value in (None, ""):
        return None
    if isinstance(value, PriceList):
        price_list: PriceList | None = value
    else:
        try:
            price_list = PriceList.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationFailed(_("请选择价格表"), field="price_list") from exc
    if price_list is None or not price_list.is_active:
        raise ValidationFailed(_("该价格表不存在或已停用"), field="price_list")
    return price_list


def _header_clean(
    data: dict[str, Any], *, customer: Customer | None, current: dict[str, Any]
) -> dict[str, Any]:
    """The quote's header after applying `data` over `current` (keys not sent are kept)."""
    out = dict(current)
    if "title" in data:
        title = _text(data, "title", 200)
        if not title:
            raise ValidationFailed(_("请填写报价标题"), field="title")
        out["title"] = title
    if "contact" in data and customer is not None:
        out["contact"] = _contact_ref(data["contact"], customer)
    if "price_list" in data:
        out["price_list"] = _price_list_ref(data["price_list"])
    if "currency" in data:
        currency = (_text(data, "currency", 3) or "CNY").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValidationFailed(_("币种应为三位字母代码，例如 CNY"), field="currency")
        out["currency"] = currency
    if "valid_until" in data:
        out["valid_until"] = _date(data["valid_until"], "valid_until")
    if "discount_pct" in data:
        out["discount_pct"] = _pct(data["discount_pct"], "discount_pct")
    if "tax_included" in data:
        out["tax_included"] = bool(data["tax_included"])
    if "terms" in data:
        out["terms"] = _text(data, "terms", 5000)
    if "notes" in data:
        out["notes"] = _text(data, "notes", 5000)
    return out


def _lines_clean(
    lines: list[dict[str, Any]],
    *,
    price_list: PriceList | None,
    existing: dict[int, QuoteLine] | None = None,
    preview: bool = False,
) -> list[dict[str, Any]]:
    """Each line with its product resolved and its defaults filled in (name, unit, price from
    the price list, tax rate from the product). Amounts come from quote_totals afterwards."""
    if not lines:
        raise ValidationFailed(_("报价单至少需要一行产品"), field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("一张报价单最多 %(n)d 行") % {"n": MAX_LINES}, field="lines")
    existing = existing or {}
    default_tax = config.quote_settings().get("default_tax_rate") or "13"
    out = []
    for i, raw in enumerate(lines):
        if not isinstance(raw, dict):
            raise ValidationFailed(_("格式不正确"), field=f"lines.{i}")
        line_id = None if preview else raw.get("id")
        kept: QuoteLine | None = None
        if line_id not in (None, ""):
            try:
                kept = existing.get(int(line_id))
            except (TypeError, ValueError, OverflowError):
                kept = None
            if kept is None:
                raise ValidationFailed(_("该行不属于这张报价单"), field=f"lines.{i}.id")
        product = None
        if raw.get("product") not in (None, ""):
            product = _product_ref(
                raw["product"],
                f"lines.{i}.product",
                allow_inactive_id=kept.product_id if kept is not None else None,
                allow_inactive=preview,
            )
        row = {k: raw.get(k) for k in ("name", "description", "unit")}
        name = _text(row, "name", 200) if row.get("name") else ""
        name = name or (product.name if product else "")
        if not name:
            raise ValidationFailed(_("请选择产品或填写品名"), field=f"lines.{i}.name")
        try:
            description = _text(row, "description", 500)
            unit = _text(row, "unit", 20) or (product.unit if product else "")
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"lines.{i}.{exc.field}") from exc
        quantity = raw.get("quantity")
        if quantity in (None, ""):
            raise ValidationFailed(_("请填写数量"), field=f"lines.{i}.quantity")
        unit_price = raw.get("unit_price")
        if unit_price in (None, ""):
            if product is None:
                raise ValidationFailed(_("请填写单价"), field=f"lines.{i}.unit_price")
            try:
                qty_for_price: Any = Decimal(str(quantity))
            except ArithmeticError:
                qty_for_price = None
            unit_price = product_price(product, price_list, quantity=qty_for_price)
        tax_rate = raw.get("tax_rate")
        if tax_rate in (None, ""):
            tax_rate = product.tax_rate if product is not None else default_tax
        out.append(
            {
                "id": kept.pk if kept is not None else None,
                "product": product,
                "name": name,
                "description": description,
                "unit": unit,
                "quantity": quantity,
                "unit_price": unit_price,
                "discount_pct": raw.get("discount_pct") or "0",
                "tax_rate": tax_rate,
            }
        )
    return out


def _totals(lines: list[dict[str, Any]], header: dict[str, Any]) -> QuoteTotals:
    totals = quote_totals(
        lines, discount_pct=header["discount_pct"], tax_included=bool(header["tax_included"])
    )
    # quote_totals checked and normalised every number: store the normalised values.
    for line, amount in zip(lines, totals.line_amounts, strict=True):
        line["quantity"] = to_decimal(line["quantity"], "quantity")
        line["unit_price"] = to_decimal(line["unit_price"], "unit_price")
        line["discount_pct"] = to_decimal(line["discount_pct"], "discount_pct")
        line["tax_rate"] = to_decimal(line["tax_rate"], "tax_rate")
        line["amount"] = amount
    return totals


def _d(value: Any) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _snapshot(quote: Quote, lines: list[QuoteLine], totals: QuoteTotals) -> dict[str, Any]:
    contact = quote.contact
    price_list = quote.price_list
    opportunity = quote.opportunity
    return {
        "header": {
            "number": quote.number,
            "title": quote.title,
            "customer_id": quote.customer_id,
            "customer": quote.customer.name,
            "opportunity_id": quote.opportunity_id,
            "opportunity": opportunity.name if opportunity is not None else "",
            "contact_id": quote.contact_id,
            "contact": contact.name if contact is not None else "",
            "price_list_id": quote.price_list_id,
            "price_list": price_list.name if price_list is not None else "",
            "currency": quote.currency,
            "valid_until": quote.valid_until.isoformat() if quote.valid_until else None,
            "discount_pct": _d(quote.discount_pct),
            "tax_included": bool(quote.tax_included),
            "terms": quote.terms,
            "notes": quote.notes,
            "owner_id": quote.owner_id,
            "owner": quote.owner.name,
        },
        "lines": [
            {
                "id": line.pk,
                "position": line.position,
                "product_id": line.product_id,
                "product_code": line.product.code if line.product_id and line.product else "",
                "name": line.name,
                "description": line.description,
                "unit": line.unit,
                "quantity": _d(line.quantity),
                "unit_price": _d(line.unit_price),
                "discount_pct": _d(line.discount_pct),
                "tax_rate": _d(line.tax_rate),
                "amount": _d(line.amount),
            }
            for line in lines
        ],
        "totals": {
            **totals.as_dict(),
            "tax_groups": [
                {"rate": _d(g.rate), "base": _d(g.base), "tax": _d(g.tax)}
                for g in totals.tax_groups
            ],
        },
    }


def _apply_totals(quote: Quote, totals: QuoteTotals) -> None:
    quote.subtotal = totals.subtotal
    quote.discount_amount = totals.discount_amount
    quote.tax_amount = totals.tax_amount
    quote.total = totals.total


def _write_lines(quote: Quote, lines: list[dict[str, Any]]) -> list[QuoteLine]:
    """Lines of the current revision: kept ones updated in place (their id is how the next
    diff recognises them), the others created; lines no longer there removed (every earlier
    revision keeps them in its snapshot)."""
    keep = [line["id"] for line in lines if line["id"] is not None]
    QuoteLine.objects.filter(quote=quote).exclude(pk__in=keep).delete()
    current = {x.pk: x for x in QuoteLine.objects.filter(quote=quote)}
    out: list[QuoteLine] = []
    fields = ["position", "product", "name", "description", "unit", "quantity"]
    fields += ["unit_price", "discount_pct", "tax_rate", "amount"]
    for position, line in enumerate(lines):
        values = {k: line[k] for k in fields if k != "position"}
        values["position"] = position
        row = current.get(line["id"]) if line["id"] is not None else None
        if row is None:
            row = QuoteLine.objects.create(quote=quote, **values)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.save(update_fields=fields)
        out.append(row)
    return out


def _timeline(quote: Quote, actor: Any, kind: str, summary: str, data: dict[str, Any]) -> None:
    # No amounts on the customer's timeline: everyone who sees the customer reads it, and not
    # all of them may see this quote (finance, marketing, service).
    timeline_append(
        customer_id=quote.customer_id,
        kind=kind,
        actor=actor,
        summary=summary,
        data={"quote_id": quote.pk, "number": quote.number, **data},
        ref_entity="quote",
        ref_id=quote.pk,
    )


def _secured_changes(actor: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    touched = [
        _SECURED[k] for k in _SECURED if k in after and _norm(before.get(k)) != _norm(after[k])
    ]
    require_writable(actor, "quote", touched)


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    return value


@transaction.atomic
def quote_create(
    *,
    actor: Any,
    customer: Customer,
    opportunity: Any = None,
    data: dict[str, Any],
    lines: list[dict[str, Any]],
    owner: Any = None,
    note: str = "",
) -> Quote:
    """A new quote (revision 1) for a customer, optionally for one of its opportunities."""
    require(actor, "create", Quote)
    require(actor, "view", customer)
    if opportunity is not None:
        require(actor, "view", opportunity)
        if opportunity.customer_id != customer.pk:
            raise ValidationFailed(_("商机不属于该客户"), field="opportunity")
    owner = owner if owner is not None else actor
    _owner_check(actor, owner)
    settings = config.quote_settings()
    days = int(settings.get("default_validity_days") or 30)
    default_title = (opportunity.name if opportunity is not None else _("%s 报价") % customer.name)[
        :200
    ]
    base = {
        "title": default_title,
        "contact": None,
        "price_list": pricelist_default(),
        "currency": "CNY",
        "valid_until": timezone.localdate() + dt.timedelta(days=days),
        "discount_pct": Decimal("0"),
        "tax_included": bool(settings.get("tax_included", True)),
        "terms": str(settings.get("default_terms") or ""),
        "notes": "",
    }
    header = _header_clean(data, customer=customer, current=base)
    _secured_changes(actor, {}, {k: v for k, v in header.items() if k in data})
    require_writable(actor, "quote", ["total"])
    if header["valid_until"] and header["valid_until"] < timezone.localdate():
        raise ValidationFailed(_("有效期不能早于今天"), field="valid_until")
    clean_lines = _lines_clean(lines, price_list=header["price_list"])
    totals = _totals(clean_lines, header)
    quote = Quote(
        number=quote_number_next(),
        customer=customer,
        opportunity=opportunity,
        owner=owner,
        created_by=actor,
        status=QuoteStatus.DRAFT,
        revision=1,
        **header,
    )
    _apply_totals(quote, totals)
    quote.save()
    rows = _write_lines(quote, clean_lines)
    snapshot = _snapshot(quote, rows, totals)
    QuoteRevision.objects.create(
        quote=quote,
        number=1,
        snapshot=snapshot,
        changes={},
        note=(note or "").strip()[:300],
        total=quote.total,
        created_by=actor,
    )
    _timeline(
        quote,
        actor,
        "quote_created",
        _("新建报价单 %(number)s「%(title)s」") % {"number": quote.number, "title": quote.title},
        {"revision": 1},
    )
    audit_record(
        action="create",
        actor=actor,
        obj=quote,
        changes={"values": {**snapshot["header"], "lines": len(rows), **totals.as_dict()}},
    )
    search_index(quote)
    return quote


def quote_preview(*, data: dict[str, Any], lines: list[dict[str, Any]]) -> QuoteTotals:
    """The totals a save of these lines would store, without saving (the editor's live sum)."""
    base = {
        "price_list": None,
        "discount_pct": Decimal("0"),
        "tax_included": True,
    }
    keys = ("price_list", "discount_pct", "tax_included")
    header = _header_clean({k: data[k] for k in keys if k in data}, customer=None, current=base)
    return _totals(_lines_clean(lines, price_list=header["price_list"], preview=True), header)


def quote_from_opportunity(
    *, actor: Any, opportunity: Any, data: dict[str, Any] | None = None
) -> Quote:
    """A quote prefilled with the opportunity's products (at their expected prices)."""
    lines = [
        {"product": x.product, "quantity": x.quantity, "unit_price": x.unit_price}
        for x in OpportunityProduct.objects.filter(opportunity=opportunity).select_related(
            "product"
        )
    ]
    return quote_create(
        actor=actor,
        customer=opportunity.customer,
        opportunity=opportunity,
        data=data or {},
        lines=lines,
    )


def _current_lines(quote: Quote) -> list[dict[str, Any]]:
    return [
        {
            "id": x.pk,
            "product": x.product_id,
            "name": x.name,
            "description": x.description,
            "unit": x.unit,
            "quantity": x.quantity,
            "unit_price": x.unit_price,
            "discount_pct": x.discount_pct,
            "tax_rate": x.tax_rate,
        }
        for x in QuoteLine.objects.filter(quote=quote)
    ]


def _version_check(quote: Quote, expected_version: int | None) -> None:
    """Refuse a stale edit before anything is written (save_with_version checks again,
    atomically, when the quote row is saved)."""
    if expected_version is None:
        return
    stored = Quote.all_objects.filter(pk=quote.pk).values_list("version", flat=True).first()
    if stored != expected_version:
        raise StaleVersion(current={"version": stored, "revision": quote.revision})


def _latest_revision(quote: Quote) -> QuoteRevision | None:
    return QuoteRevision.objects.filter(quote=quote).order_by("-number").first()


def _revise_summary(quote: Quote, changes: dict[str, Any]) -> str:
    counts = diff_summary(changes)
    parts = []
    if counts["changed"]:
        parts.append(_("修改 %(n)d 行") % {"n": counts["changed"]})
    if counts["added"]:
        parts.append(_("新增 %(n)d 行") % {"n": counts["added"]})
    if counts["removed"]:
        parts.append(_("删除 %(n)d 行") % {"n": counts["removed"]})
    if counts["header"]:
        parts.append(_("修改 %(n)d 项条件") % {"n": counts["header"]})
    head = _("修订报价单 %(number)s 为第 %(n)d 版") % {"number": quote.number, "n": quote.revision}
    return head + ("：" + "、".join(parts) if parts else "")


@transaction.atomic
def quote_revise(
    *,
    actor: Any,
    quote: Quote,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | None = None,
    note: str = "",
) -> Quote:
    """Save a change as a new revision. `lines` None keeps the current lines; a line with
    the `id` of a current line changes that line, one without an id is new, and current
    lines not sent are removed. Nothing changed: no new revision (the version is still
    checked). A sent, rejected or expired quote goes back to draft: the new version has
    to be sent again. An accepted quote cannot change."""
    require(actor, "edit", quote)
    data = {k: v for k, v in (data or {}).items() if k in HEADER_KEYS}
    if quote.status == QuoteStatus.ACCEPTED:
        raise ValidationFailed(
            _("客户已接受的报价单不能修改；如需调整请新建报价单"), field="status"
        )
    _version_check(quote, expected_version)
    customer = quote.customer
    current = {k: getattr(quote, k) for k in HEADER_KEYS}
    header = _header_clean(data, customer=customer, current=current)
    _secured_changes(actor, current, header)
    if (
        "valid_until" in data
        and header["valid_until"] != current["valid_until"]
        and header["valid_until"] is not None
        and header["valid_until"] < timezone.localdate()
    ):
        raise ValidationFailed(_("有效期不能早于今天"), field="valid_until")
    existing = {x.pk: x for x in QuoteLine.objects.filter(quote=quote)}
    raw_lines = lines if lines is not None else _current_lines(quote)
    clean_lines = _lines_clean(raw_lines, price_list=header["price_list"], existing=existing)
    totals = _totals(clean_lines, header)
    previous = _latest_revision(quote)
    old_snapshot = previous.snapshot if previous is not None else None
    # Compare before writing anything: the candidate snapshot with the lines as sent.
    candidate = Quote(
        pk=quote.pk,
        number=quote.number,
        customer=customer,
        opportunity=quote.opportunity,
        owner=quote.owner,
        **header,
    )
    _apply_totals(candidate, totals)
    preview_rows = [
        QuoteLine(
            pk=line["id"],
            position=i,
            **{k: line[k] for k in line if k not in ("id",)},
        )
        for i, line in enumerate(clean_lines)
    ]
    changes = snapshot_diff(old_snapshot, _snapshot(candidate, preview_rows, totals))
    if old_snapshot is not None and not changes:
        return quote
    money = {"discount_pct", "tax_included"} & set(changes.get("header") or {})
    if money or any(changes.get(k) for k in ("lines_added", "lines_removed", "lines_changed")):
        require_writable(actor, "quote", ["total"])
    old_status = quote.status
    for key, value in header.items():
        setattr(quote, key, value)
    _apply_totals(quote, totals)
    quote.revision = (previous.number if previous is not None else quote.revision) + 1
    fields = [*HEADER_KEYS, "subtotal", "discount_amount", "tax_amount", "total", "revision"]
    if old_status in (QuoteStatus.SENT, QuoteStatus.REJECTED, QuoteStatus.EXPIRED):
        quote.status = QuoteStatus.DRAFT
        fields.append("status")
        changes["status"] = [old_status, quote.status]
    save_with_version(quote, expected_version=expected_version, fields=fields)
    rows = _write_lines(quote, clean_lines)
    snapshot = _snapshot(quote, rows, totals)
    # Line ids of new lines exist only now: the stored diff names them.
    status_change = changes.get("status")
    changes = snapshot_diff(old_snapshot, snapshot)
    if status_change:
        changes["status"] = status_change
    QuoteRevision.objects.create(
        quote=quote,
        number=quote.revision,
        snapshot=snapshot,
        changes=changes,
        note=(note or "").strip()[:300],
        total=quote.total,
        created_by=actor,
    )
    _timeline(
        quote,
        actor,
        "quote_revised",
        _revise_summary(quote, changes),
        {"revision": quote.revision, "counts": diff_summary(changes)},
    )
    audit_record(
        action="update",
        actor=actor,
        obj=quote,
        changes={"revision": quote.revision, **changes},
    )
    search_index(quote)
    return quote


@transaction.atomic
def quote_set_status(
    *,
    actor: Any,
    quote: Quote,
    status: str,
    expected_version: int | None = None,
    today: dt.date | None = None,
) -> Quote:
    """draft → sent → accepted / rejected; sent → draft (撤回); rejected / expired → draft.
    A quote past its validity cannot be sent or accepted."""
    if actor is not None:
        require(actor, "edit", quote)
        require_writable(actor, "quote", ["status"])
    today = today or timezone.localdate()
    if status not in dict(QuoteStatus.choices):
        raise ValidationFailed(_("未知的报价状态"), field="status")
    old = quote.status
    if status == old:
        return quote
    allowed = TRANSITIONS.get(old, ())
    if status not in allowed and not (actor is None and status == QuoteStatus.EXPIRED):
        raise ValidationFailed(
            _("报价单不能从「%(old)s」改为「%(new)s」")
            % {"old": status_label(old), "new": status_label(status)},
            field="status",
        )
    if status in (QuoteStatus.SENT, QuoteStatus.ACCEPTED) and quote.is_past_validity(today):
        raise ValidationFailed(_("报价已过有效期，请先修订有效期"), field="valid_until")
    quote.status = status
    save_with_version(quote, expected_version=expected_version, fields=["status"])
    _timeline(
        quote,
        actor,
        "quote_status",
        _("报价单 %(number)s：%(old)s → %(new)s")
        % {"number": quote.number, "old": status_label(old), "new": status_label(status)},
        {"status": [old, status]},
    )
    audit_record(action="update", actor=actor, obj=quote, changes={"status": [old, status]})
    return quote


@transaction.atomic
def quote_delete(*, actor: Any, quote: Quote) -> Quote:
    if quote.status == QuoteStatus.ACCEPTED and not is_admin(actor):
        raise ValidationFailed(_("客户已接受的报价单不能删除"), field="status")
    record_delete(actor=actor, obj=quote)
    search_remove("quote", quote.pk)
    _timeline(quote, actor, "quote_status", _("报价单 %s 已删除到回收站") % quote.number, {})
    return quote


def quote_after_restore(quote: Any, actor: Any) -> None:
    """Recycle-bin hook: back in the search index and on the timeline."""
    search_index(quote)
    _timeline(quote, actor, "quote_status", _("报价单 %s 已从回收站恢复") % quote.number, {})


def quotes_expire(*, today: dt.date | None = None) -> int:
    """Sent quotes whose validity has passed become expired (the nightly job). Idempotent."""
    today = today or timezone.localdate()
    count = 0
    ids = list(
        Quote.objects.filter(status=QuoteStatus.SENT, valid_until__lt=today).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        with transaction.atomic():
            quote = Quote.objects.select_for_update().filter(pk=pk).first()
            if quote is None or quote.status != QuoteStatus.SENT:
                continue
            quote_set_status(actor=None, quote=quote, status=QuoteStatus.EXPIRED, today=today)
            count += 1
    return count


# ================================================================= settings


@transaction.atomic
def quote_settings_update(*, actor: Any, values: dict[str, Any]) -> dict[str, Any]:
    from crm.core.config import setting_set

    if not is_admin(actor):
        raise PermissionDenied()
    current = config.quote_settings()
    out = dict(current)
    prefix = str(values.get("number_prefix", current.get("number_prefix")) or "").strip().upper()
    if not PREFIX_RE.match(prefix):
        raise ValidationFailed(_("编号前缀只能是 1–10 位大写字母或数字"), field="number_prefix")
    out["number_prefix"] = prefix
    try:
        days = int(str(values.get("default_validity_days", current.get("default_validity_days"))))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("请输入天数"), field="default_validity_days") from exc
    if not 1 <= days <= 365:
        raise ValidationFailed(_("有效天数应在 1 到 365 之间"), field="default_validity_days")
    out["default_validity_days"] = days
    out["default_tax_rate"] = str(
        _pct(values.get("default_tax_rate", current.get("default_tax_rate")), "default_tax_rate")
    )
    out["tax_included"] = bool(values.get("tax_included", current.get("tax_included")))
    limits = {
        "company_name": 100,
        "company_address": 200,
        "company_phone": 50,
        "company_email": 100,
        "company_website": 100,
        "bank_account": 300,
        "default_terms": 5000,
    }
    for key, limit in limits.items():
        if key in values:
            out[key] = _text(values, key, limit)
    return dict(setting_set(actor=actor, key=config.QUOTES, value=out))
