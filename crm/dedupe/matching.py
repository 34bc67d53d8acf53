"""Finding existing customers an incoming row (or another customer) may duplicate.

`customer_candidates(rows)` is the batch entry point the importer calls: a handful of
IN (...) queries per 900 rows on indexed columns (credit code, name key, contact phones and
emails, and the CustomerKey blocking table), then rapidfuzz scoring only on the customers
those queries return. Never a scan of the customer table per row.

Scores (0-100) and reasons:

- same credit code: 100, exact;
- same contact phone or email: at least 90 (75 when the names differ), exact;
- same name key (杭州XX科技有限公司 / 杭州XX科技): 95; same core without the region prefix
  or a region bracket: 90; same pinyin (同音字, 繁体): 85; otherwise rapidfuzz on the core
  and its pinyin; the same short name (字号) in the same city or province: at least 60;
- conflicts lower the score and forbid automatic merging: different credit codes (score at
  most 60), different industries (-15), different provinces (-30) or cities (-20),
  different branches.

`auto_merge_ok` is only ever true without a conflict, and then only for the same credit
code, the same name key, or the same phone or email with a very similar name (≥ 85).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _lazy
from rapidfuzz import fuzz

from crm.core.errors import ValidationFailed
from crm.customers.models import Contact, Customer
from crm.customers.normalize import credit_code_normalize, phone_normalize
from crm.dedupe.blocking import keys_lookup_unscoped, keys_sync_throttled, select_in
from crm.dedupe.keys import NameParts, blocking_keys, name_parts, parts_from_key, probe_keys
from crm.dedupe.regions import region_of

MIN_SCORE = 50.0  # below this a fuzzy-only candidate is noise
AUTO_NAME_SCORE = 85.0


@dataclass
class Candidate:
    customer_id: int
    score: float  # 0-100
    reasons: list[str]
    exact: bool  # matched on an exact key: credit code, phone or email
    auto_merge_ok: bool  # safe to merge without a person looking at it


@dataclass
class Side:
    """What scoring compares: an incoming row or a stored customer, normalised."""

    name: str = ""
    parts: NameParts | None = None
    credit_code: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)


@lru_cache(maxsize=4096)
def _province_norm(value: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    if not text:
        return ""
    province, _city = region_of(text)
    return province or text


@lru_cache(maxsize=4096)
def _city_norm(value: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    if not text:
        return ""
    _province, city = region_of(text)
    return city or text


@lru_cache(maxsize=4096)
def _industry_norm(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).lower()


def _phone_norm(value: str) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    if re.fullmatch(r"\+\d{6,16}(;ext=\d+)?", text):
        return text
    try:
        return phone_normalize(text)[0]
    except ValidationFailed:
        return ""


def _email_norm(value: str) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    return text.lower() if "@" in text else ""


def side_from_row(row: dict[str, Any]) -> Side:
    name = str(row.get("name") or "")
    parts = name_parts(name) if name.strip() else None
    province = _province_norm(str(row.get("province") or ""))
    city = _city_norm(str(row.get("city") or ""))
    if parts is not None:
        province = parts.province or province
        city = parts.city or city
    return Side(
        name=name,
        parts=parts,
        credit_code=credit_code_normalize(str(row.get("credit_code") or "")),
        industry=_industry_norm(str(row.get("industry") or "")),
        province=province,
        city=city,
        phones={p for p in (_phone_norm(str(v)) for v in row.get("phones") or []) if p},
        emails={e for e in (_email_norm(str(v)) for v in row.get("emails") or []) if e},
    )


def side_from_customer(
    name: str,
    credit_code: str,
    industry: str,
    province: str,
    city: str = "",
    name_key: str | None = None,
) -> Side:
    if name_key:
        parts: NameParts | None = parts_from_key(name_key)
    else:
        parts = name_parts(name) if name else None
    return Side(
        name=name,
        parts=parts,
        credit_code=credit_code or "",
        industry=_industry_norm(industry),
        province=(parts.province if parts else "") or _province_norm(province),
        city=(parts.city if parts else "") or _city_norm(city),
    )


@dataclass
class Signals:
    """Exact-key hits between two sides, found by the lookups."""

    credit: bool = False
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)


# Reasons are kept as (code, parameters) while scoring and worded only for the candidates
# that are returned: translating every reason of every scored pair was a quarter of the time.
REASONS: dict[str, Any] = {
    "name_key": _lazy("名称相同（忽略公司后缀、空格和括号）"),
    "core_branch": _lazy("名称主体相同，分支机构不同"),
    "core": _lazy("名称主体相同（仅地区前缀不同）"),
    "pinyin": _lazy("名称拼音相同（同音字或繁简体）"),
    "short_prefix": _lazy("简称相同（%(s)s），一方名称更完整"),
    "short": _lazy("简称相同（%(s)s）"),
    "similar": _lazy("名称相似（%(n)d%%）"),
    "credit": _lazy("统一社会信用代码相同"),
    "phone": _lazy("联系人电话相同：%(p)s"),
    "email": _lazy("联系人邮箱相同：%(e)s"),
    "name_differs": _lazy("名称差异较大"),
    "credit_differs": _lazy("统一社会信用代码不同"),
    "industry_differs": _lazy("行业不同"),
    "province_differs": _lazy("省份不同"),
    "city_differs": _lazy("城市不同"),
}
Reason = tuple[str, dict[str, Any] | None]


def reasons_text(reasons: list[Reason]) -> list[str]:
    words = _reason_words(get_language() or "")
    out: list[str] = []
    for code, params in reasons:
        text = words[code]
        out.append(text % params if params else text.replace("%%", "%"))
    return out


@lru_cache(maxsize=16)
def _reason_words(language: str) -> dict[str, str]:
    return {code: str(message) for code, message in REASONS.items()}


def _name_score(a: NameParts | None, b: NameParts | None) -> tuple[float, Reason | None]:
    if a is None or b is None or not a.key or not b.key:
        return 0.0, None
    if a.key == b.key:
        return 95.0, ("name_key", None)
    if a.core and a.core == b.core:
        if a.branch != b.branch:
            return 88.0, ("core_branch", None)
        return 90.0, ("core", None)
    if a.pinyin and a.pinyin == b.pinyin:
        return 85.0, ("pinyin", None)
    fuzzy = max(fuzz.ratio(a.core, b.core), fuzz.ratio(a.pinyin, b.pinyin) * 0.95)
    if a.short and a.short == b.short:
        if a.core.startswith(b.core) or b.core.startswith(a.core):
            return max(fuzzy, 82.0), ("short_prefix", {"s": a.short})
        return max(fuzzy, 60.0 + 0.3 * fuzzy), ("short", {"s": a.short})
    return float(fuzzy), ("similar", {"n": round(fuzzy)})


def pair_score(a: Side, b: Side, signals: Signals) -> tuple[float, list[str], bool, bool]:
    """(score, reasons, exact, auto_merge_ok) for two sides. Symmetric."""
    score, reasons, exact, auto = pair_score_coded(a, b, signals)
    return score, reasons_text(reasons), exact, auto


def pair_score_coded(a: Side, b: Side, signals: Signals) -> tuple[float, list[Reason], bool, bool]:
    """pair_score with the reasons as (code, parameters), worded by reasons_text()."""
    reasons: list[Reason] = []
    name_score, name_reason = _name_score(a.parts, b.parts)
    score = name_score
    exact = False
    if signals.credit:
        exact = True
        score = 100.0
        reasons.append(("credit", None))
    if signals.phones:
        exact = True
        score = max(score, 90.0 if name_score >= 60 else 75.0)
        reasons.append(("phone", {"p": "、".join(sorted(signals.phones)[:3])}))
    if signals.emails:
        exact = True
        score = max(score, 90.0 if name_score >= 60 else 75.0)
        reasons.append(("email", {"e": "、".join(sorted(signals.emails)[:3])}))
    if name_reason and name_score >= MIN_SCORE:
        reasons.append(name_reason)
    elif exact and a.parts is not None and b.parts is not None:
        reasons.append(("name_differs", None))

    conflict = False
    if a.credit_code and b.credit_code and a.credit_code != b.credit_code:
        conflict = True
        score = min(score, 60.0)
        reasons.append(("credit_differs", None))
    if a.industry and b.industry and a.industry != b.industry:
        conflict = True
        score -= 15
        reasons.append(("industry_differs", None))
    if a.province and b.province and a.province != b.province:
        conflict = True
        score -= 30
        reasons.append(("province_differs", None))
    elif a.city and b.city and a.city != b.city:
        conflict = True
        score -= 20
        reasons.append(("city_differs", None))
    branch_differs = (
        a.parts is not None and b.parts is not None and a.parts.branch != b.parts.branch
    )
    if branch_differs:
        conflict = True
    score = max(0.0, min(100.0, round(score, 1)))

    auto = False
    if not conflict:
        same_key = a.parts is not None and b.parts is not None and a.parts.key == b.parts.key
        auto = (
            signals.credit
            or same_key
            or (bool(signals.phones or signals.emails) and name_score >= AUTO_NAME_SCORE)
        )
    return score, reasons, exact, auto


def _keep(score: float, exact: bool) -> bool:
    return exact or score >= MIN_SCORE


# ----------------------------------------------------------------- batch lookup


def _exact_lookups(
    sides: list[Side],
) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, set[int]], dict[str, set[int]]]:
    credits = sorted({s.credit_code for s in sides if s.credit_code})
    names = sorted({s.parts.key for s in sides if s.parts is not None and s.parts.key})
    phones = sorted({p for s in sides for p in s.phones})
    emails = sorted({e for s in sides for e in s.emails})
    customers = Customer._meta.db_table
    contacts = Contact._meta.db_table
    qn = connection.ops.quote_name
    alive = f"{qn('deleted_at')} IS NULL"
    by_credit: dict[str, list[int]] = {}
    for code, pk in select_in(customers, ["credit_code", "id"], "credit_code", credits, alive):
        by_credit.setdefault(code, []).append(pk)
    by_name: dict[str, list[int]] = {}
    for key, pk in select_in(customers, ["name_key", "id"], "name_key", names, alive):
        ids = by_name.setdefault(key, [])
        if len(ids) < 50:
            ids.append(pk)
    by_phone: dict[str, set[int]] = {}
    for column in ("mobile", "phone"):
        for number, cid in select_in(contacts, [column, "customer_id"], column, phones, alive):
            by_phone.setdefault(number, set()).add(cid)
    by_email: dict[str, set[int]] = {}
    for email, cid in select_in(contacts, ["email", "customer_id"], "email", emails, alive):
        by_email.setdefault(email, set()).add(cid)
    return by_credit, by_name, by_phone, by_email


def customers_sides_unscoped(ids: Iterable[int]) -> dict[int, Side]:
    """Live customers by id, as scoring sides (deleted ones are simply absent).

    Plain SQL: at tens of thousands of candidates per import chunk, the ORM's per-row
    machinery cost more than the scoring."""
    out: dict[int, Side] = {}
    columns = ["id", "name", "name_key", "credit_code", "industry", "province", "city"]
    rows = select_in(
        Customer._meta.db_table,
        columns,
        "id",
        sorted(set(ids)),
        f"{connection.ops.quote_name('deleted_at')} IS NULL",
    )
    for pk, name, key, code, industry, province, city in rows:
        out[pk] = side_from_customer(name, code, industry, province, city, key)
    return out


STRONG = 85.0  # a row with a candidate this good skips the short-name blocks


def customer_candidates(
    rows: list[dict[str, Any]], *, limit: int = 5, min_score: float | None = None
) -> list[list[Candidate]]:
    """For each row (name, credit_code, phones, emails, industry, province[, city]), the
    existing customers it may duplicate, best first, at most `limit`. Unscoped: every
    customer.

    Two rounds: exact keys, the name key and the same-core block first; the short-name
    blocks (same 字号 in the same city or province — large blocks, weak candidates) only for
    rows that found nothing scoring STRONG or more in the first round.

    min_score: leave out candidates scoring less (exact-key ones are always kept). A caller
    that only acts on strong candidates (≥ STRONG) also skips the short-name round, which
    is most of the work on a large database.
    """
    if not rows:
        return []
    keys_sync_throttled()
    sides = [side_from_row(r) for r in rows]
    by_credit, by_name, by_phone, by_email = _exact_lookups(sides)
    probes = [
        probe_keys(s.parts, province=s.province, city=s.city) if s.parts is not None else []
        for s in sides
    ]
    first_keys = [[k for k in ks if k.startswith("p:")] for ks in probes]
    by_key = keys_lookup_unscoped([k for ks in first_keys for k in ks])

    wanted: list[dict[int, Signals]] = []
    for side, keys in zip(sides, first_keys, strict=True):
        found: dict[int, Signals] = {}
        if side.credit_code:
            for pk in by_credit.get(side.credit_code, []):
                found.setdefault(pk, Signals()).credit = True
        if side.parts is not None:
            for pk in by_name.get(side.parts.key, []):
                found.setdefault(pk, Signals())
        for phone in side.phones:
            for pk in by_phone.get(phone, ()):
                found.setdefault(pk, Signals()).phones.add(phone)
        for email in side.emails:
            for pk in by_email.get(email, ()):
                found.setdefault(pk, Signals()).emails.add(email)
        for key in keys:
            for pk in by_key.get(key, []):
                found.setdefault(pk, Signals())
        wanted.append(found)
    customers = customers_sides_unscoped({pk for found in wanted for pk in found})
    scored = [_score_row(side, found, customers) for side, found in zip(sides, wanted, strict=True)]

    # Second round: short-name blocks for the rows still without a strong candidate.
    second = [
        i
        for i, cands in enumerate(scored)
        if not (cands and cands[0][0] >= STRONG) and any(not k.startswith("p:") for k in probes[i])
    ]
    if min_score is not None and min_score >= STRONG:
        second = []
    if second:
        by_short = keys_lookup_unscoped(
            [k for i in second for k in probes[i] if not k.startswith("p:")], per_key=40
        )
        extra: dict[int, dict[int, Signals]] = {}
        for i in second:
            more = {
                pk: Signals()
                for k in probes[i]
                if not k.startswith("p:")
                for pk in by_short.get(k, [])
                if pk not in wanted[i]
            }
            if more:
                extra[i] = more
        customers2 = customers_sides_unscoped(
            {pk for more in extra.values() for pk in more if pk not in customers}
        )
        customers.update(customers2)
        for i, more in extra.items():
            scored[i] = sorted(
                scored[i] + _score_row(sides[i], more, customers),
                key=lambda c: (-c[0], not c[1], c[2]),
            )
    floor = MIN_SCORE if min_score is None else min_score
    return [
        [
            Candidate(pk, score, reasons_text(reasons), exact, auto)
            for score, exact, pk, reasons, auto in [c for c in cands if c[1] or c[0] >= floor][
                :limit
            ]
        ]
        for cands in scored
    ]


def _score_row(
    side: Side, found: dict[int, Signals], customers: dict[int, Side]
) -> list[tuple[float, bool, int, list[Reason], bool]]:
    out: list[tuple[float, bool, int, list[Reason], bool]] = []
    for pk, signals in found.items():
        other = customers.get(pk)
        if other is None:
            continue  # in the recycle bin
        score, reasons, exact, auto = pair_score_coded(side, other, signals)
        if _keep(score, exact):
            out.append((score, exact, pk, reasons, auto))
    out.sort(key=lambda c: (-c[0], not c[1], c[2]))
    return out


# ----------------------------------------------------------------- within a file


@dataclass
class RowCandidate:
    """An earlier row of the same batch that a row may duplicate."""

    index: int  # the earlier row's ref in a RowIndex (its position, for rows_candidates)
    score: float
    reasons: list[str]
    exact: bool
    auto_merge_ok: bool


class RowIndex:
    """The rows of one input seen so far (an import file, across its chunks): `check` a row
    against them, then `add` it if it is kept. Same keys and scoring as against the
    database, in memory. `ref` is the caller's name for a row (its position, its number)."""

    def __init__(self) -> None:
        self.sides: dict[int, Side] = {}
        self.index: dict[str, list[int]] = {}

    @staticmethod
    def _keys(side: Side) -> tuple[list[tuple[str, str]], list[str]]:
        keys: list[tuple[str, str]] = []
        filed: list[str] = []
        if side.credit_code:
            keys.append(("credit", f"cc:{side.credit_code}"))
        keys += [("phone", f"ph:{p}") for p in side.phones]
        keys += [("email", f"em:{e}") for e in side.emails]
        if side.parts is not None:
            keys.append(("name", f"nk:{side.parts.key}"))
            probes = probe_keys(side.parts, province=side.province, city=side.city)
            keys += [("block", k) for k in probes]
            filed = blocking_keys(side.parts, province=side.province, city=side.city)
        return keys, filed

    def check(self, row: dict[str, Any], *, limit: int = 5) -> tuple[Side, list[RowCandidate]]:
        side = side_from_row(row)
        keys, _filed = self._keys(side)
        found: dict[int, Signals] = {}
        for kind, key in keys:
            for ref in self.index.get(key, [])[:200]:
                sig = found.setdefault(ref, Signals())
                if kind == "credit":
                    sig.credit = True
                elif kind == "phone":
                    sig.phones.add(key[3:])
                elif kind == "email":
                    sig.emails.add(key[3:])
        scored: list[tuple[float, bool, int, list[Reason], bool]] = []
        for ref, signals in found.items():
            score, reasons, exact, auto = pair_score_coded(side, self.sides[ref], signals)
            if _keep(score, exact):
                scored.append((score, exact, ref, reasons, auto))
        scored.sort(key=lambda c: (-c[0], not c[1], c[2]))
        return side, [
            RowCandidate(ref, score, reasons_text(reasons), exact, auto)
            for score, exact, ref, reasons, auto in scored[:limit]
        ]

    def add(self, side: Side, ref: int) -> None:
        self.sides[ref] = side
        keys, filed = self._keys(side)
        for kind, key in keys:
            if kind != "block":
                self.index.setdefault(key, []).append(ref)
        for key in filed:
            self.index.setdefault(key, []).append(ref)


def rows_candidates(rows: list[dict[str, Any]], *, limit: int = 5) -> list[list[RowCandidate]]:
    """Duplicates inside one input (an import file): for each row, the EARLIER rows it may
    duplicate, best first (RowCandidate.index is the earlier row's position)."""
    seen = RowIndex()
    out: list[list[RowCandidate]] = []
    for i, row in enumerate(rows):
        side, candidates = seen.check(row, limit=limit)
        out.append(candidates)
        seen.add(side, i)
    return out
