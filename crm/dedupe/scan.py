"""Finding candidate pairs among the customers already in the database (the nightly scan).

Set-based, not per customer: each exact key (credit code, name key, contact mobile / phone /
email) and each blocking key is grouped in SQL (`GROUP BY key HAVING COUNT(*) > 1` on an
index), the groups are read in key order, the customers of a slice of groups are loaded with
one IN (...) query, and only the pairs inside a group are scored. A group larger than
`MAX_GROUP` (a switchboard number on hundreds of customers, a very common short name) says
little and would cost quadratic time: its first members are paired, the rest is counted in
the statistics.

Unscoped on purpose: the scan sees every customer; the queue is filtered per user when read.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from crm.customers.models import Contact, Customer
from crm.dedupe.blocking import chunks
from crm.dedupe.keys import PROVINCES, name_parts_clear
from crm.dedupe.matching import (
    Side,
    Signals,
    customers_sides_unscoped,
    pair_score_coded,
    reasons_text,
)
from crm.dedupe.models import CustomerKey

MAX_GROUP = 40
SLICE = 4000  # key rows per side-loading round


@dataclass
class ScanStats:
    pairs_scored: int = 0
    pairs_kept: int = 0
    groups: dict[str, int] = field(default_factory=dict)
    groups_capped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class FoundPair:
    a_id: int
    b_id: int
    score: float
    reasons: list[str]
    exact: bool
    auto_merge_ok: bool


def _grouped(qs: QuerySet, key: str, member: str) -> Iterator[tuple[Any, list[int]]]:
    """(key value, member ids) for each value shared by two or more members, in key order."""
    qs = qs.order_by()
    shared = qs.values(key).annotate(n=Count(member, distinct=True)).filter(n__gt=1).values(key)
    rows = qs.filter(**{f"{key}__in": shared}).order_by(key, member).values_list(key, member)
    current: Any = None
    members: list[int] = []
    for value, pk in rows.iterator(chunk_size=5000):
        if value != current:
            if len(members) > 1:
                yield current, members
            current, members = value, []
        if not members or members[-1] != pk:  # ordered by member: repeats are adjacent
            members.append(pk)
    if len(members) > 1:
        yield current, members


def _exact_groups() -> Iterator[tuple[str, Any, list[int]]]:
    alive = Customer.objects.all()
    yield from (
        ("credit", v, m) for v, m in _grouped(alive.exclude(credit_code=""), "credit_code", "pk")
    )
    yield from (("name", v, m) for v, m in _grouped(alive.exclude(name_key=""), "name_key", "pk"))
    contacts = Contact.objects.filter(customer__deleted_at__isnull=True)
    for column, kind in (("mobile", "phone"), ("phone", "phone"), ("email", "email")):
        for v, m in _grouped(contacts.exclude(**{column: ""}), column, "customer_id"):
            yield kind, v, m


def _block_groups() -> Iterator[tuple[str, list[int]]]:
    # r: blocks are only read against q: members (_cross): leave them out of the grouping.
    # A range, not startswith, so the index on key serves both sides.
    qs = CustomerKey.objects.filter(Q(key__lt="r:") | Q(key__gte="r;"))
    yield from _grouped(qs, "key", "customer_id")


def _pairs_in(members: list[int]) -> Iterator[tuple[int, int]]:
    yield from itertools.combinations(sorted(members[:MAX_GROUP]), 2)


def find_pairs(*, min_score: float) -> tuple[list[FoundPair], ScanStats]:
    """Every candidate pair scoring at least `min_score` (exact-key pairs always)."""
    stats = ScanStats()
    started = time.monotonic()
    # 1. exact keys: few groups; their signals are kept for every pair they produce.
    signals: dict[tuple[int, int], Signals] = {}
    for kind, value, members in _exact_groups():
        stats.groups[kind] = stats.groups.get(kind, 0) + 1
        stats.groups_capped += len(members) > MAX_GROUP
        for pair in _pairs_in(members):
            sig = signals.setdefault(pair, Signals())
            if kind == "credit":
                sig.credit = True
            elif kind == "phone":
                sig.phones.add(str(value))
            elif kind == "email":
                sig.emails.add(str(value))
    stats.seconds["exact_groups"] = round(time.monotonic() - started, 2)

    found: dict[tuple[int, int], FoundPair] = {}

    def score(pairs: list[tuple[int, int]], sides: dict[int, Side], sigs: dict) -> None:
        for pair in pairs:
            if pair in found:
                continue
            a, b = sides.get(pair[0]), sides.get(pair[1])
            if a is None or b is None:
                continue  # deleted since the keys were written
            s, reasons, exact, auto = pair_score_coded(a, b, sigs.get(pair) or Signals())
            stats.pairs_scored += 1
            if exact or s >= min_score:
                found[pair] = FoundPair(pair[0], pair[1], s, reasons_text(reasons), exact, auto)

    t = time.monotonic()
    exact_pairs = list(signals)
    for part in chunks(exact_pairs, SLICE):
        ids = {i for pair in part for i in pair}
        score(part, customers_sides_unscoped(ids), signals)
    stats.seconds["exact_score"] = round(time.monotonic() - t, 2)

    # 2. blocking keys, a slice of groups at a time. "r:" blocks (province + short name of
    # customers that know their city) only pair with "q:" members (customers that know
    # only the province): two customers with cities already met in their "c:" block.
    t = time.monotonic()
    pending: list[tuple[str, list[int]]] = []
    size = 0

    def flush() -> None:
        ids = {i for _k, members in pending for i in members[:MAX_GROUP]}
        sides = customers_sides_unscoped(ids)
        pairs: list[tuple[int, int]] = []
        for _key, members in pending:
            pairs.extend(p for p in _pairs_in(members) if p not in found)
        score(pairs, sides, signals)

    for key, members in _block_groups():
        kind = key[:2]
        stats.groups[kind] = stats.groups.get(kind, 0) + 1
        stats.groups_capped += len(members) > MAX_GROUP
        pending.append((key, members))
        size += min(len(members), MAX_GROUP)
        if size >= SLICE:
            flush()
            pending, size = [], 0
            name_parts_clear()
    if pending:
        flush()
    pending = []
    # Customers that know less of their place meet the blocks of those that know more:
    # q:<province>|<short> (no city) against r:<province>|<short>, and p:*|<pinyin> (no
    # province) against p:<each province>|<pinyin>.
    _cross("q:", lambda rest: [f"r:{rest}"], score)
    _cross("p:*|", lambda rest: [f"p:{p}|{rest}" for p in PROVINCES], score)
    stats.seconds["blocks"] = round(time.monotonic() - t, 2)
    name_parts_clear()
    stats.pairs_kept = len(found)
    stats.seconds["total"] = round(time.monotonic() - started, 2)
    return list(found.values()), stats


def _cross(prefix: str, targets: Any, score: Any) -> None:
    """Pair every member of the `prefix` keys with the members of its `targets(rest)` keys."""
    last = ""
    while True:
        rows = list(
            CustomerKey.objects.filter(key__startswith=prefix, key__gt=last)
            .order_by("key", "customer_id")
            .values_list("key", "customer_id")[:SLICE]
        )
        if not rows:
            return
        # whole keys only: cut the slice before a key that may continue in the next one
        if len(rows) == SLICE:
            cut = rows[-1][0]
            head = [r for r in rows if r[0] != cut]
            rows = head or rows
        last = rows[-1][0]
        members: dict[str, list[int]] = {}
        for key, cid in rows:
            if len(members.setdefault(key[len(prefix) :], [])) < MAX_GROUP:
                members[key[len(prefix) :]].append(cid)
        wanted = {t: rest for rest in members for t in targets(rest)}
        pairs: set[tuple[int, int]] = set()
        for part in chunks(list(wanted)):
            seen: dict[str, int] = {}
            for key, cid in CustomerKey.objects.filter(key__in=part).values_list(
                "key", "customer_id"
            ):
                seen[key] = seen.get(key, 0) + 1
                if seen[key] > MAX_GROUP:
                    continue
                for x in members[wanted[key]]:
                    if x != cid:
                        pairs.add((min(x, cid), max(x, cid)))
        ids = {i for p in pairs for i in p}
        score(sorted(pairs), customers_sides_unscoped(ids), {})


def customer_rows_unscoped(ids: list[int]) -> list[dict[str, Any]]:
    """Customers as matcher rows (for the incremental scan): their contacts' phones/emails."""
    phones: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    for part in chunks(ids):
        for cid, mobile, phone, email in Contact.objects.filter(customer_id__in=part).values_list(
            "customer_id", "mobile", "phone", "email"
        ):
            phones.setdefault(cid, []).extend(p for p in (mobile, phone) if p)
            if email:
                emails.setdefault(cid, []).append(email)
    rows: list[dict[str, Any]] = []
    for part in chunks(ids):
        for pk, name, code, industry, province, city in Customer.objects.filter(
            pk__in=part
        ).values_list("pk", "name", "credit_code", "industry", "province", "city"):
            rows.append(
                {
                    "id": pk,
                    "name": name,
                    "credit_code": code,
                    "industry": industry,
                    "province": province,
                    "city": city,
                    "phones": phones.get(pk, []),
                    "emails": emails.get(pk, []),
                }
            )
    return rows
