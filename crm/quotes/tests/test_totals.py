"""The one function that computes a quote's money (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.errors import ValidationFailed
from crm.quotes.totals import money_round, quote_totals

D = Decimal


def line(qty="1", price="100", disc="0", tax="13"):
    return {"quantity": qty, "unit_price": price, "discount_pct": disc, "tax_rate": tax}


def test_one_line_tax_included():
    t = quote_totals([line("2", "113.00")], tax_included=True)
    assert t.line_amounts == (D("226.00"),)
    assert t.subtotal == D("226.00")
    assert t.tax_amount == D("26.00")  # 226 × 13 / 113
    assert t.total == D("226.00")
    assert t.total_excl_tax == D("200.00")


def test_one_line_tax_added():
    t = quote_totals([line("2", "100.00")], tax_included=False)
    assert t.net == D("200.00")
    assert t.tax_amount == D("26.00")
    assert t.total == D("226.00")
    assert t.total_excl_tax == D("200.00")


def test_line_and_whole_discounts_stack_multiplicatively():
    # 10 × 1000 = 10000, line −10 % → 9000; whole −5 % → 8550.
    t = quote_totals([line("10", "1000", "10", "0")], discount_pct="5", tax_included=True)
    assert t.gross == D("10000.00")
    assert t.line_discount == D("1000.00")
    assert t.subtotal == D("9000.00")
    assert t.discount_amount == D("450.00")
    assert t.net == D("8550.00")
    assert t.total == D("8550.00")


def test_whole_discount_is_spread_over_tax_rates():
    # Goods at 13 %, a service at 6 %; 10 % off the whole quote, tax added.
    t = quote_totals(
        [line("1", "10000", "0", "13"), line("1", "2000", "0", "6")],
        discount_pct="10",
        tax_included=False,
    )
    assert t.net == D("10800.00")
    # 9000 × 13 % + 1800 × 6 % = 1170 + 108
    assert t.tax_amount == D("1278.00")
    assert t.total == D("12078.00")
    assert [(g.rate, g.base, g.tax) for g in t.tax_groups] == [
        (D("6.00"), D("1800.00"), D("108.00")),
        (D("13.00"), D("9000.00"), D("1170.00")),
    ]


def test_rounding_half_up_to_fen_per_line():
    # 3 × 33.335 is not allowed (3 decimals), but 1/3 discounts produce half-fen amounts:
    # 1 × 0.05 with 50 % off = 0.025 → 0.03 (half up, not banker's 0.02).
    t = quote_totals([line("1", "0.05", "50", "0")])
    assert t.line_amounts == (D("0.03"),)
    assert money_round(D("2.675")) == D("2.68")
    assert money_round(D("2.665")) == D("2.67")


def test_printed_lines_add_up_to_the_subtotal():
    lines = [line("3", "33.33", "7.5", "13") for _ in range(7)]
    t = quote_totals(lines)
    assert sum(t.line_amounts) == t.subtotal


def test_tax_is_rounded_once_from_exact_values():
    # Three lines of 0.01 tax-included at 13 %: each line's tax is 0.00115…; rounding per
    # line would give 0.00, the exact sum rounds to 0.00 too, but 100 such lines give 0.12.
    t = quote_totals([line("1", "0.01", "0", "13") for _ in range(100)])
    assert t.tax_amount == D("0.12")


def test_hundred_percent_discount_is_free_not_an_error():
    t = quote_totals([line("2", "500", "100", "13")], discount_pct="0")
    assert t.total == D("0.00")
    t = quote_totals([line("2", "500", "0", "13")], discount_pct="100")
    assert t.total == D("0.00")
    assert t.tax_amount == D("0.00")


def test_zero_price_line_is_allowed():
    t = quote_totals([line("1", "0", "0", "13"), line("1", "100", "0", "13")])
    assert t.total == D("100.00")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (line(qty="0"), "lines.0.quantity"),
        (line(qty="-1"), "lines.0.quantity"),
        (line(price="-0.01"), "lines.0.unit_price"),
        (line(disc="101"), "lines.0.discount_pct"),
        (line(disc="-5"), "lines.0.discount_pct"),
        (line(tax="-1"), "lines.0.tax_rate"),
        (line(qty="1.005"), "lines.0.quantity"),
        (line(price="abc"), "lines.0.unit_price"),
        (line(price="NaN"), "lines.0.unit_price"),
        (line(price="Infinity"), "lines.0.unit_price"),
        (line(qty=""), "lines.0.quantity"),
        (line(price="1e400"), "lines.0.unit_price"),
    ],
)
def test_bad_input_names_the_field(bad, field):
    with pytest.raises(ValidationFailed) as err:
        quote_totals([line(), bad])
    assert err.value.field == field.replace("lines.0", "lines.1")
    assert err.value.message


def test_whole_discount_out_of_range():
    with pytest.raises(ValidationFailed) as err:
        quote_totals([line()], discount_pct="100.01")
    assert err.value.field == "discount_pct"


def test_huge_numbers_exact_or_refused():
    # The biggest line that fits the columns is computed exactly…
    t = quote_totals([line("1", "99999999999999.99", "0", "13")])
    assert t.total == D("99999999999999.99")
    assert t.tax_amount == D("11504424778761.06")
    # …a bigger product is refused (field and reason), never overflowed or rounded away.
    with pytest.raises(ValidationFailed) as err:
        quote_totals([line("9999999999.99", "99999999999999.99", "0", "13")])
    assert err.value.field == "lines.0.unit_price"
    with pytest.raises(ValidationFailed) as err:
        quote_totals([line("1", "99999999999999.99"), line("1", "1")])
    assert err.value.field == "lines"


def test_commas_and_full_width_separators_are_accepted():
    t = quote_totals([line("1", "12,000.50")])
    assert t.total == D("12000.50")


def test_accepts_objects_as_well_as_mappings():
    class Row:
        quantity = D("2")
        unit_price = D("10")
        discount_pct = D("0")
        tax_rate = D("13")

    assert quote_totals([Row()]).total == D("20.00")
