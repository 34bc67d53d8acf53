"""The blocking-key table: keeping CustomerKey in step with customers, looking keys up.

Unscoped on purpose (functions named *_unscoped where they read customers): duplicate
detection must see every customer, as registration (报备) does; what a user is then shown
goes through the selectors, which filter by scope.

Keeping in step without touching the customer services: every write path that changes a
customer bumps `updated_at` (services save through save_with_version, which sets auto_now
fields; bulk_create sets them too). `keys_sync()` re-derives the keys of customers whose
`updated_at` is after the last sync (minus a margin for transactions that committed late)
and whose stored `stamp` differs. The nightly scan rebuilds everything (`full=True`), so a
row missed by a very long transaction is caught within a day; exact keys are always read
from the live tables.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from crm.customers.models import Customer
from crm.dedupe.keys import blocking_keys, name_parts
from crm.dedupe.models import CustomerKey, DedupeState

CHUNK = 900  # parameters per IN (...): under SQLite's old 999 limit
# Transactions that commit after a sync started hold rows with an earlier updated_at: the
# next sync looks that far back (rows already keyed at their version cost an index probe).
MARGIN = dt.timedelta(seconds=30)
# customer_candidates() syncs at most this often per process: an import calls it per chunk,
# and keys a few seconds old only delay a fuzzy candidate (exact keys are read live).
SYNC_EVERY = 5.0
_last_sync = [0.0]


def keys_sync_throttled() -> None:
    now = time.monotonic()
    if now - _last_sync[0] >= SYNC_EVERY:
        keys_sync()
        _last_sync[0] = time.monotonic()


def chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def select_in(
    table: str, columns: list[str], column: str, values: list[Any], where: str = ""
) -> Iterator[tuple[Any, ...]]:
    """SELECT columns FROM table WHERE column IN (values) [AND where], in chunks.

    Plain SQL for the batch lookups: the ORM spends more time preparing an IN list of 900
    parameters than the database spends answering it.
    """
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    for part in chunks(values):
        marks = ", ".join(["%s"] * len(part))
        # identifiers from model meta, quoted; every value a parameter
        sql = f"SELECT {cols} FROM {qn(table)} WHERE {qn(column)} IN ({marks})"  # noqa: S608
        if where:
            sql += f" AND {where}"
        with connection.cursor() as cursor:
            cursor.execute(sql, part)
            yield from cursor.fetchall()


def _keys_rows(
    rows: Iterable[tuple[int, str, str, str, dt.datetime]],
) -> list[tuple[int, str, Any]]:
    adapt = connection.ops.adapt_datetimefield_value
    out: list[tuple[int, str, Any]] = []
    for pk, name, province, city, updated in rows:
        # a raw SQLite value (str) goes back as it came: parsing a million datetimes for
        # nothing but an equality check is a quarter of a full rebuild
        stamp = updated if isinstance(updated, str) else adapt(updated)
        for key in blocking_keys(name_parts(name), province=province, city=city):
            out.append((pk, key, stamp))
    return out


def _insert(rows: list[tuple[int, str, Any]]) -> None:
    """Plain INSERTs: building a model instance per key costs more than deriving the key."""
    if not rows:
        return
    qn = connection.ops.quote_name
    opts = CustomerKey._meta
    sql = (
        f"INSERT INTO {qn(opts.db_table)} "  # noqa: S608 (identifiers from model meta)
        f"({qn(opts.get_field('customer').column)}, {qn('key')}, {qn('stamp')}) "
        "VALUES (%s, %s, %s)"
    )
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[i : i + 5000])


def state_get() -> DedupeState:
    state, _created = DedupeState.objects.get_or_create(pk=1)
    return state


@transaction.atomic
def keys_refresh(customer_ids: list[int]) -> int:
    """Re-derive the keys of these customers now (the importer may call it after a chunk)."""
    written = 0
    for part in chunks(sorted(set(customer_ids))):
        rows = list(
            Customer.all_objects.filter(pk__in=part).values_list(
                "pk", "name", "province", "city", "updated_at"
            )
        )
        CustomerKey.objects.filter(customer_id__in=part).delete()
        objs = _keys_rows(rows)
        _insert(objs)
        written += len(objs)
    return written


def keys_sync(*, full: bool = False, now: dt.datetime | None = None) -> int:
    """Bring CustomerKey up to date; returns the number of customers re-keyed."""
    now = now or timezone.now()
    state = state_get()
    if full or state.synced_until is None:
        count = _keys_rebuild()
        DedupeState.objects.filter(pk=1).update(synced_until=now - MARGIN, full_at=now)
        return count
    since = state.synced_until
    qn = connection.ops.quote_name
    customers, keys = qn(Customer._meta.db_table), qn(CustomerKey._meta.db_table)
    customer_col = qn(CustomerKey._meta.get_field("customer").column)
    # Changed since the last sync and not keyed at that version (no key carries its
    # updated_at as stamp): one query, the (updated_at, id) index and the key table's
    # (customer, stamp) index.
    sql = (
        f"SELECT c.{qn('id')} FROM {customers} c WHERE c.{qn('updated_at')} >= %s "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {keys} k WHERE k.{customer_col} = c.{qn('id')} "
        f"AND k.{qn('stamp')} = c.{qn('updated_at')})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(since)])
        changed = [r[0] for r in cursor.fetchall()]
    # Rows written with an old updated_at (a bulk load, the benchmark seeder) are new ids.
    top = CustomerKey.objects.order_by("-customer_id").values_list("customer_id", flat=True)[:1]
    newest = top[0] if top else 0
    changed += list(
        Customer.all_objects.filter(pk__gt=newest, updated_at__lt=since)
        .order_by()
        .values_list("pk", flat=True)[:500_000]
    )
    if changed:
        keys_refresh(changed)
    DedupeState.objects.filter(pk=1).update(synced_until=now - MARGIN)
    return len(changed)


def _indexes(*, present: bool) -> None:
    """Make the table's indexes present or absent, as plain SQL (SQLite's schema editor
    refuses to run inside a transaction)."""
    editor = connection.schema_editor()
    editor.deferred_sql = []  # set by __enter__, which is not needed for two statements
    table = CustomerKey._meta.db_table
    with connection.cursor() as cursor:
        existing = set(connection.introspection.get_constraints(cursor, table))
        for index in CustomerKey._meta.indexes:
            if present and index.name not in existing:
                cursor.execute(str(index.create_sql(CustomerKey, editor)))
            elif not present and index.name in existing:
                cursor.execute(str(index.remove_sql(CustomerKey, editor)))


def _keys_rebuild() -> int:
    """All keys from scratch, streaming the customer table in id order.

    One short transaction per slice of ids, so web requests are never locked out for long
    (SQLite has one writer). Into an empty table the indexes are dropped first and built
    once at the end (SQLite) — three times faster at a million customers; an interrupted build
    leaves a table that is not empty, so the next one starts by putting them back.
    """
    from crm.dedupe.keys import name_parts_clear

    empty = not CustomerKey.objects.exists()
    # PostgreSQL loads into live indexes fast enough, and refuses CREATE INDEX while the
    # enclosing transaction (a test's) has deferred foreign-key checks pending.
    _indexes(present=not (empty and connection.vendor == "sqlite"))
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {qn('id')}, {qn('name')}, {qn('province')}, {qn('city')}, "  # noqa: S608
        f"{qn('updated_at')} FROM {qn(Customer._meta.db_table)} "
        f"WHERE {qn('id')} > %s ORDER BY {qn('id')} LIMIT 20000"
    )
    count = 0
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last])
            rows = cursor.fetchall()
        if not rows:
            break
        keys = _keys_rows(rows)
        with transaction.atomic():
            if not empty:
                CustomerKey.objects.filter(
                    customer_id__gt=last, customer_id__lte=rows[-1][0]
                ).delete()
            _insert(keys)
        last = rows[-1][0]
        count += len(rows)
    CustomerKey.objects.filter(customer_id__gt=last).delete()
    _indexes(present=True)
    name_parts_clear()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {qn(CustomerKey._meta.db_table)}")
    return count


def keys_lookup_unscoped(keys: list[str], *, per_key: int = 60) -> dict[str, list[int]]:
    """key → customer ids (alive or not: callers load customers through the alive manager).

    A key shared by more than `per_key` customers (a very common short name) is cut there:
    such a block says little, and scoring thousands of rows per input row would blow the
    import's time budget. Exact keys still find those customers.
    """
    out: dict[str, list[int]] = {}
    column = CustomerKey._meta.get_field("customer").column
    for key, customer_id in select_in(
        CustomerKey._meta.db_table, ["key", column], "key", sorted(set(keys))
    ):
        ids = out.setdefault(key, [])
        if len(ids) < per_key:
            ids.append(customer_id)
    return out
