"""大写金额 as the People's Bank of China rules write them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.quotes.rmb import rmb_upper


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("123456.78", "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("105", "壹佰零伍元整"),
        ("1000.00", "壹仟元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("107000.53", "壹拾万柒仟元零伍角叁分"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("0.05", "伍分"),
        ("0.5", "伍角"),
        ("0.56", "伍角陆分"),
        ("10000", "壹万元整"),
        ("100000", "壹拾万元整"),
        ("1000000", "壹佰万元整"),
        ("10001", "壹万零壹元整"),
        ("100100", "壹拾万零壹佰元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("110000000", "壹亿壹仟万元整"),
        ("1000000000.10", "壹拾亿元零壹角"),
        ("99999999999999.99", "玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("1000000000000", "壹万亿元整"),
    ],
)
def test_amounts(amount, words):
    assert rmb_upper(Decimal(amount)) == words


def test_rounds_half_up_to_fen():
    assert rmb_upper("1.005") == "壹元零壹分"
    assert rmb_upper("0.994") == "玖角玖分"


def test_negative_and_invalid():
    assert rmb_upper("-12.5") == "负壹拾贰元伍角"
    with pytest.raises(ValueError):
        rmb_upper("abc")
    with pytest.raises(ValueError):
        rmb_upper("NaN")
