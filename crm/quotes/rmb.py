"""Amounts in Chinese capital numerals (大写金额), as written on quotes, contracts and cheques.

Follows the People's Bank of China rules for writing amounts (《支付结算办法》附件):
壹拾 at the start (壹拾贰万, never 拾贰万); one 零 for a run of zeros inside the number;
零 between 元 and 角 when the 元 digit is zero (壹仟陆佰捌拾元零叁角贰分) and between
元 and 分 when there are no 角 (叁佰贰拾伍元零肆分); 整 after 元 when there are no 角/分.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
WAN = 10**4
YI = 10**8


def _four(n: int) -> str:
    """0 < n < 10000, without leading 零."""
    out = []
    zero = False
    started = False
    for pos in (3, 2, 1, 0):
        d = n // 10**pos % 10
        if d == 0:
            zero = started
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + SMALL_UNITS[pos])
        started = True
    return "".join(out)


def _below_yi(n: int) -> str:
    """0 < n < 10^8."""
    high, low = divmod(n, WAN)
    if not high:
        return _four(low)
    text = _four(high) + "万"
    if low:
        text += ("零" if low < 1000 else "") + _four(low)
    return text


def _integer(n: int) -> str:
    """n > 0, any size (亿 repeats: 壹万亿 is 壹万亿)."""
    if n < YI:
        return _below_yi(n)
    high, low = divmod(n, YI)
    text = _integer(high) + "亿"
    if low:
        text += ("零" if low < 10**7 else "") + _below_yi(low)
    return text


def rmb_upper(amount: Any) -> str:
    """123456.78 → 壹拾贰万叁仟肆佰伍拾陆元柒角捌分; 0 → 零元整; rounds half up to 分."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    sign = "负" if value < 0 else ""
    cents = int(abs(value) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if not cents:
        return "零元整"
    text = _integer(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return sign + text + "整"
    if jiao:
        if yuan and yuan % 10 == 0:
            text += "零"
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return sign + text
