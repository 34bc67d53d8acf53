"""A quote's money: the one pure function every page, endpoint and snapshot uses.

Rules (in this order):

1. line amount = quantity × unit price × (1 − line discount %), rounded to 分 (ROUND_HALF_UP);
   the printed lines always add up to the subtotal;
2. subtotal = Σ line amounts;
3. whole-quote discount = subtotal × discount %, rounded to 分; net = subtotal − discount;
4. tax per tax rate on that rate's share of the net (the whole-quote discount spread
   proportionally), summed exactly and rounded once to 分:
   * tax included (含税价): the prices contain the tax, tax = base × r / (100 + r),
     total = net;
   * tax added (不含税价): tax = base × r / 100, total = net + tax.

Input is refused (ValidationFailed naming `lines.<i>.<field>` or the header field) when a
quantity is zero or negative, a price negative, a percentage outside 0–100, a value has more
than two decimals, or a result does not fit the database columns.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# The database columns: max_digits 16 (money) / 12 (quantity), 2 decimal places.
MAX_MONEY = Decimal("99999999999999.99")
MAX_QUANTITY = Decimal("9999999999.99")
# Wide enough that no intermediate product loses a digit before the final rounding.
_CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP)


def money_round(value: Decimal) -> Decimal:
    """Round to 分, half up (0.005 → 0.01), as Chinese invoices do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)


def to_decimal(value: Any, field: str, *, label: str = "") -> Decimal:
    """A finite Decimal with at most two decimals, or ValidationFailed on `field`."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool) or value is None or value == "":
        raise ValidationFailed(_("请填写%s") % (label or _("数值")), field=field)
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(_("请输入数字"), field=field) from exc
    if not number.is_finite():
        raise ValidationFailed(_("请输入数字"), field=field)
    if abs(number) > MAX_MONEY:
        raise ValidationFailed(_("数值过大"), field=field)
    rounded = number.quantize(CENT, context=_CONTEXT)
    if rounded != number:
        raise ValidationFailed(_("最多保留两位小数"), field=field)
    return rounded


def _pct(value: Any, field: str) -> Decimal:
    number = to_decimal(value if value not in (None, "") else "0", field)
    if number < 0 or number > HUNDRED:
        raise ValidationFailed(_("百分比应在 0 到 100 之间"), field=field)
    return number


@dataclass(frozen=True)
class TaxGroup:
    rate: Decimal
    base: Decimal  # this rate's share of the net, rounded to 分 for display
    tax: Decimal  # rounded to 分 for display; the total tax is rounded once from exact values


@dataclass(frozen=True)
class QuoteTotals:
    line_amounts: tuple[Decimal, ...]
    gross: Decimal  # Σ quantity × unit price, before any discount
    line_discount: Decimal  # gross − subtotal
    subtotal: Decimal  # Σ line amounts (after line discounts)
    discount_amount: Decimal  # the whole-quote discount
    net: Decimal  # subtotal − discount_amount
    tax_amount: Decimal
    total: Decimal  # what the customer pays
    total_excl_tax: Decimal
    tax_groups: tuple[TaxGroup, ...]

    def as_dict(self) -> dict[str, str]:
        return {
            "gross": str(self.gross),
            "line_discount": str(self.line_discount),
            "subtotal": str(self.subtotal),
            "discount_amount": str(self.discount_amount),
            "net": str(self.net),
            "tax_amount": str(self.tax_amount),
            "total": str(self.total),
            "total_excl_tax": str(self.total_excl_tax),
        }


def _get(line: Any, key: str, default: Any = None) -> Any:
    if isinstance(line, Mapping):
        return line.get(key, default)
    return getattr(line, key, default)


def quote_totals(
    lines: Sequence[Any], *, discount_pct: Any = 0, tax_included: bool = True
) -> QuoteTotals:
    """Totals of a quote from its lines (mappings or objects with quantity, unit_price,
    discount_pct, tax_rate). Pure: no database, no clock."""
    whole = _pct(discount_pct, "discount_pct")
    amounts: list[Decimal] = []
    gross = Decimal(0)
    by_rate: dict[Decimal, Decimal] = {}
    for i, line in enumerate(lines):
        quantity = to_decimal(_get(line, "quantity"), f"lines.{i}.quantity", label=_("数量"))
        if quantity <= 0:
            raise ValidationFailed(_("数量必须大于 0"), field=f"lines.{i}.quantity")
        if quantity > MAX_QUANTITY:
            raise ValidationFailed(_("数量过大"), field=f"lines.{i}.quantity")
        price = to_decimal(_get(line, "unit_price"), f"lines.{i}.unit_price", label=_("单价"))
        if price < 0:
            raise ValidationFailed(_("单价不能为负数"), field=f"lines.{i}.unit_price")
        disc = _pct(_get(line, "discount_pct", 0), f"lines.{i}.discount_pct")
        rate = _pct(_get(line, "tax_rate", 0), f"lines.{i}.tax_rate")
        line_gross = _CONTEXT.multiply(quantity, price)
        amount = money_round(
            _CONTEXT.multiply(line_gross, _CONTEXT.divide(HUNDRED - disc, HUNDRED))
        )
        if amount > MAX_MONEY:
            raise ValidationFailed(_("该行金额过大"), field=f"lines.{i}.unit_price")
        gross = _CONTEXT.add(gross, money_round(line_gross))
        amounts.append(amount)
        by_rate[rate] = _CONTEXT.add(by_rate.get(rate, Decimal(0)), amount)
    subtotal = sum(amounts, Decimal(0))
    discount_amount = money_round(_CONTEXT.multiply(subtotal, _CONTEXT.divide(whole, HUNDRED)))
    net = subtotal - discount_amount
    keep = _CONTEXT.divide(HUNDRED - whole, HUNDRED)
    tax_exact = Decimal(0)
    groups: list[TaxGroup] = []
    for rate in sorted(by_rate):
        base = _CONTEXT.multiply(by_rate[rate], keep)
        divisor = HUNDRED + rate if tax_included else HUNDRED
        tax = _CONTEXT.divide(_CONTEXT.multiply(base, rate), divisor)
        tax_exact = _CONTEXT.add(tax_exact, tax)
        groups.append(TaxGroup(rate=rate, base=money_round(base), tax=money_round(tax)))
    tax_amount = money_round(tax_exact)
    if tax_included:
        total = net
        total_excl_tax = net - tax_amount
    else:
        total = net + tax_amount
        total_excl_tax = net
    if gross > MAX_MONEY or total > MAX_MONEY:
        raise ValidationFailed(_("报价总额过大"), field="lines")
    return QuoteTotals(
        line_amounts=tuple(amounts),
        gross=money_round(gross),
        line_discount=money_round(gross) - subtotal,
        subtotal=subtotal,
        discount_amount=discount_amount,
        net=net,
        tax_amount=tax_amount,
        total=total,
        total_excl_tax=total_excl_tax,
        tax_groups=tuple(groups),
    )
