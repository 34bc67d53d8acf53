"""Normalisation and validation of what people type: credit codes, company names, phones,
emails. Pure functions, shared by customer services and (later) the import cleaner."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from crm.core.errors import ValidationFailed

# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V); the last is a check
# character computed from the first 17 with these weights, modulo 31.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_normalize(value: str) -> str:
    """Upper case, half width, no spaces; '' stays '' (the code is optional)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).upper()


def credit_code_is_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in CREDIT_ALPHABET for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def credit_code_clean(value: str) -> str:
    code = credit_code_normalize(value)
    if not code:
        return ""
    if len(code) != 18:
        raise ValidationFailed(
            _("统一社会信用代码应为 18 位（当前 %(n)d 位）") % {"n": len(code)}, field="credit_code"
        )
    bad = [c for c in code if c not in CREDIT_ALPHABET]
    if bad:
        raise ValidationFailed(
            _("统一社会信用代码含有不允许的字符：%(c)s（不使用 I、O、Z、S、V）")
            % {"c": "".join(dict.fromkeys(bad))},
            field="credit_code",
        )
    if not credit_code_is_valid(code):
        raise ValidationFailed(_("统一社会信用代码校验位不正确，请核对"), field="credit_code")
    return code


BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")"})
COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "股份公司",
    "公司",
    # Latin forms without punctuation: the key has none ("Co., Ltd." → "coltd").
    "coltd",
    "limited",
    "ltd",
    "inc",
)


def company_name_clean(value: str) -> str:
    """What we store: half-width letters/digits, unified brackets, single spaces."""
    text = unicodedata.normalize("NFKC", value or "").translate(BRACKETS)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise ValidationFailed(_("请填写客户名称"), field="name")
    if len(text) > 200:
        raise ValidationFailed(_("客户名称不能超过 200 个字符"), field="name")
    return text


def company_name_key(value: str) -> str:
    """The duplicate-check key: no spaces or punctuation, no legal-form suffix, branch kept.

    杭州海康威视数字技术股份有限公司 and 杭州 海康威视数字技术 (股份有限公司) give the same key;
    华为技术有限公司(北京分公司) keeps its branch: 华为技术|北京分公司.
    """
    text = unicodedata.normalize("NFKC", value or "").translate(BRACKETS).lower()
    branches = re.findall(r"\(([^)]*)\)", text)
    base = re.sub(r"\([^)]*\)", "", text)
    base = re.sub(r"[\s\.\,·・\-_/&'\"]+", "", base)
    for suffix in COMPANY_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    branch = "".join(b for b in branches if not any(s in b for s in ("有限", "公司")) or "分" in b)
    branch = re.sub(r"\s+", "", branch)
    return f"{base}|{branch}" if branch else base


def phone_normalize(value: str, *, field: str = "mobile") -> tuple[str, str]:
    """(E.164, original text). Raises ValidationFailed naming `field` when it is not a number.

    China is the default region; "转" (extension) is understood, which phonenumbers is not.
    """
    raw = (value or "").strip()
    if not raw:
        return "", ""
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"\s*(转|分机|ext\.?|x)\s*(\d+)\s*$", r" ext. \2", text, flags=re.IGNORECASE)
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(_("号码格式不正确：%(v)s") % {"v": raw[:40]}, field=field) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            _("不是有效的电话号码：%(v)s（手机 11 位，座机请带区号）") % {"v": raw[:40]},
            field=field,
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        e164 = f"{e164};ext={number.extension}"
    return e164, raw[:100]


def phone_display(e164: str) -> str:
    """+8613812345678 → 138 1234 5678; other countries in international format."""
    if not e164:
        return ""
    base, _sep, ext = e164.partition(";ext=")
    try:
        number = phonenumbers.parse(base, "CN")
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 86
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    text = phonenumbers.format_number(number, fmt)
    return f"{text} 转 {ext}" if ext else text


def email_normalize(value: str, *, field: str = "email") -> str:
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            _("邮箱地址不正确：%(reason)s") % {"reason": str(exc)}, field=field
        ) from exc
    return result.normalized.lower() if result.normalized.isascii() else result.normalized


# Free text around numbers: "13812341234(微信同号)", "0571-88886666转123，手机139…".
PHONE_MASKED = re.compile(r"(?<!\d)1\d{2}[xX*]{4}\d{4}(?!\d)")
PHONE_EXTENSION = re.compile(r"\s*(转|分机)\s*(\d{1,6})")
MOBILE_E164 = re.compile(r"^\+861[3-9]\d{9}$")
PHONE_PLAIN = re.compile(r"\+?[\d\s()-]{7,20}")


@dataclass(frozen=True)
class PhoneFound:
    e164: str
    raw: str
    mobile: bool


@dataclass
class PhoneText:
    """What phone_extract found in one piece of text."""

    numbers: list[PhoneFound] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # number-like pieces that are not numbers
    rest: str = ""  # the text without the numbers ("微信同号", "电话不通,建议邮件联系")


def phone_extract(value: str) -> PhoneText:
    """Every phone number in free text, normalised by phone_normalize (so stored numbers look
    the same whichever way they came in); several per text; masked numbers (138xxxx1234) and
    number-like pieces that are no valid number are reported in `invalid`."""
    out = PhoneText()
    text = unicodedata.normalize("NFKC", value or "")
    if not text.strip():
        return out
    if PHONE_PLAIN.fullmatch(text.strip()):
        # Just a number (the usual cell): no need to search the text.
        try:
            e164, _raw = phone_normalize(text)
        except ValidationFailed:
            pass
        else:
            out.numbers.append(PhoneFound(e164, text.strip(), bool(MOBILE_E164.match(e164))))
            return out
    for masked in PHONE_MASKED.findall(text):
        out.invalid.append(masked)
    text = PHONE_MASKED.sub(" ", text)
    # phonenumbers does not know "转" (extension): the matcher would split the number.
    text = PHONE_EXTENSION.sub(r" ext. \2", text)
    rest = text
    for match in phonenumbers.PhoneNumberMatcher(
        text, "CN", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        raw = match.raw_string
        rest = rest.replace(raw, " ", 1)
        try:
            e164, _raw = phone_normalize(raw)
        except ValidationFailed:
            out.invalid.append(raw.strip())
            continue
        if all(found.e164 != e164 for found in out.numbers):
            out.numbers.append(PhoneFound(e164, raw.strip(), bool(MOBILE_E164.match(e164))))
    # Digit runs the matcher did not take (too short or too long to be a number).
    for piece in re.findall(r"(?<![\w.])\+?\d[\d\s-]{4,}\d(?![\w])", rest):
        out.invalid.append(piece.strip())
        rest = rest.replace(piece, " ", 1)
    out.rest = re.sub(r"\s+", " ", rest).strip()
    return out
