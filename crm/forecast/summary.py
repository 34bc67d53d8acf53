"""The forecast's summary table (ForecastMonth), kept by database triggers.

Why a summary: at 1,000,000 opportunities, summing the covering index `opp_forecast` for a
director's twelve months reads ~290,000 index entries (~300 ms on SQLite), and won deals
are summed by the month of `closed_at`, which no index of the opportunity table holds
(0.5–1 s). The summary has one row per owner, pipeline and month (~70,000 rows at a
million opportunities; ~25,000 in a twelve-month window) and the same reads take
10–30 ms (docs/forecast.md, docs/benchmarks.md).

Why triggers: they keep it right whatever writes an opportunity — the services, the
recycle bin (a queryset .update()), a bulk reassignment, an import, raw SQL — in the
writing transaction. An insert adds the row's contribution, an update of a summed column
subtracts the old contribution and adds the new, a delete subtracts. Money is summed in
whole fen (integers), so adding and subtracting is exact on SQLite too.

What an opportunity contributes (the same rule in the triggers and in the rebuild):

* nothing while it is in the recycle bin;
* open with an expected close date: its amount in the column of its forecast category
  (pipeline / best / commit / omitted), amount × probability in `weighted` unless omitted,
  one open deal — in the month of the expected close date;
* won with a closing time: its amount in `won_amount`, one won deal — in the local month
  of `closed_at` (SQLite: the process time zone, which Django sets from TIME_ZONE;
  PostgreSQL: TIME_ZONE as it was when the triggers were installed — run
  `forecast_summary_rebuild()` after changing it);
* lost deals and open deals without a date: nothing.

SQLite rebuilds a table to alter most columns, which drops its triggers: after every
`migrate` a post_migrate handler (apps.py) reinstalls missing triggers and rebuilds the
summary, and the nightly job `forecast_summary_check` compares it with the opportunities.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection as default_connection

OPP = "opportunities_opportunity"
SUMMARY = "forecast_forecastmonth"
KEY = ("owner_id", "pipeline_id", "month")
SUMS = (
    "pipeline_amount",
    "best_amount",
    "commit_amount",
    "omitted_amount",
    "weighted",
    "open_deals",
    "won_amount",
    "won_deals",
)
COLUMNS = ", ".join((*KEY, *SUMS))
# Columns whose change can move a deal's sums (an UPDATE of others fires nothing).
WATCHED = (
    "owner_id, pipeline_id, status, expected_close_date, closed_at, "
    "forecast_category, amount, probability, deleted_at"
)
UPSERT = "ON CONFLICT (owner_id, month, pipeline_id) DO UPDATE SET " + ", ".join(
    f"{c} = {SUMMARY}.{c} + excluded.{c}" for c in SUMS
)
EMPTY = "open_deals = 0 AND won_deals = 0"

SQLITE_TRIGGERS = ("forecast_month_ai", "forecast_month_au", "forecast_month_ad")
PG_TRIGGER = "forecast_month_change"


def _sums(r: str, cents: str, month: str) -> list[str]:
    """The contribution of row `r` to each column (the same SQL on both databases)."""
    is_open = f"{r}.status = 'open'"
    is_won = f"{r}.status = 'won'"

    def category(name: str) -> str:
        return f"CASE WHEN {is_open} AND {r}.forecast_category = '{name}' THEN {cents} ELSE 0 END"

    return [
        f"{r}.owner_id",
        f"{r}.pipeline_id",
        month,
        category("pipeline"),
        category("best"),
        category("commit"),
        category("omitted"),
        f"CASE WHEN {is_open} AND {r}.forecast_category <> 'omitted' "
        f"THEN {cents} * {r}.probability ELSE 0 END",
        f"CASE WHEN {is_open} THEN 1 ELSE 0 END",
        f"CASE WHEN {is_won} THEN {cents} ELSE 0 END",
        f"CASE WHEN {is_won} THEN 1 ELSE 0 END",
    ]


# ---------------------------------------------------------------- SQLite


def _sq_contributes(r: str) -> str:
    return (
        f"({r}.deleted_at IS NULL AND (({r}.status = 'open' AND {r}.expected_close_date IS NOT "
        f"NULL) OR ({r}.status = 'won' AND {r}.closed_at IS NOT NULL)))"
    )


def _sq_month(r: str) -> str:
    return (
        f"(CASE WHEN {r}.status = 'won' THEN strftime('%Y-%m-01', {r}.closed_at, 'localtime') "
        f"ELSE strftime('%Y-%m-01', {r}.expected_close_date) END)"
    )


def _sq_cents(r: str) -> str:
    return f"CAST(round({r}.amount * 100) AS INTEGER)"


def _sq_row(r: str, sign: str) -> str:
    values = _sums(r, _sq_cents(r), _sq_month(r))
    return ", ".join(values[:3] + [f"{sign}({v})" for v in values[3:]])


def _sq_add(r: str) -> str:
    return (
        f"INSERT INTO {SUMMARY} ({COLUMNS}) SELECT {_sq_row(r, '')} "
        f"WHERE {_sq_contributes(r)} {UPSERT};"
    )


def _sq_subtract(r: str) -> str:
    return (
        f"INSERT INTO {SUMMARY} ({COLUMNS}) SELECT {_sq_row(r, '-')} "  # noqa: S608
        f"WHERE {_sq_contributes(r)} {UPSERT};\n"
        f"DELETE FROM {SUMMARY} WHERE {EMPTY} AND owner_id = {r}.owner_id "
        f"AND month = {_sq_month(r)} AND pipeline_id = {r}.pipeline_id;"
    )


def sqlite_statements() -> list[str]:
    return [
        f"CREATE TRIGGER forecast_month_ai AFTER INSERT ON {OPP} "
        f"WHEN {_sq_contributes('NEW')} BEGIN\n{_sq_add('NEW')}\nEND",
        f"CREATE TRIGGER forecast_month_au AFTER UPDATE OF {WATCHED} ON {OPP} "
        f"WHEN {_sq_contributes('OLD')} OR {_sq_contributes('NEW')} BEGIN\n"
        f"{_sq_subtract('OLD')}\n{_sq_add('NEW')}\nEND",
        f"CREATE TRIGGER forecast_month_ad AFTER DELETE ON {OPP} "
        f"WHEN {_sq_contributes('OLD')} BEGIN\n{_sq_subtract('OLD')}\nEND",
    ]


def _sqlite_truth() -> str:
    """Every summary row as the opportunities give it (the rebuild's and the check's)."""
    values = _sums("o", _sq_cents("o"), _sq_month("o"))
    sums = ", ".join(f"SUM({v})" for v in values[3:])
    return (
        f"SELECT o.owner_id, o.pipeline_id, {_sq_month('o')} AS m, {sums} "  # noqa: S608
        f"FROM {OPP} o WHERE {_sq_contributes('o')} GROUP BY o.owner_id, o.pipeline_id, m"
    )


# ---------------------------------------------------------------- PostgreSQL


def _pg_zone() -> str:
    return str(settings.TIME_ZONE or "UTC").replace("'", "")


def _pg_month(r: str) -> str:
    return (
        f"(CASE WHEN {r}.status = 'won' "
        f"THEN date_trunc('month', {r}.closed_at AT TIME ZONE '{_pg_zone()}')::date "
        f"ELSE date_trunc('month', {r}.expected_close_date)::date END)"
    )


def _pg_contributes(r: str) -> str:
    return (
        f"({r}.deleted_at IS NULL AND (({r}.status = 'open' AND {r}.expected_close_date IS NOT "
        f"NULL) OR ({r}.status = 'won' AND {r}.closed_at IS NOT NULL)))"
    )


def pg_statements() -> list[str]:
    values = _sums("o", "c", "m")
    signed = ", ".join(values[:3] + [f"sign * ({v})" for v in values[3:]])
    return [
        f"""CREATE OR REPLACE FUNCTION forecast_month_apply(o {OPP}, sign integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m date;
    c bigint;
BEGIN
    IF NOT {_pg_contributes("o")} THEN
        RETURN;
    END IF;
    m := {_pg_month("o")};
    c := round(o.amount * 100)::bigint;
    INSERT INTO {SUMMARY} ({COLUMNS}) VALUES ({signed})
    {UPSERT};
    IF sign < 0 THEN
        DELETE FROM {SUMMARY} WHERE {EMPTY} AND owner_id = o.owner_id AND month = m
            AND pipeline_id = o.pipeline_id;
    END IF;
END;
$$""",  # noqa: S608
        """CREATE OR REPLACE FUNCTION forecast_month_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM forecast_month_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM forecast_month_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$""",
        f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON {OPP}",
        f"CREATE TRIGGER {PG_TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} "
        f"ON {OPP} FOR EACH ROW EXECUTE FUNCTION forecast_month_changed()",
    ]


def _pg_truth() -> str:
    cents = "round(o.amount * 100)::bigint"
    values = _sums("o", cents, _pg_month("o"))
    sums = ", ".join(f"SUM({v})" for v in values[3:])
    return (
        f"SELECT o.owner_id, o.pipeline_id, {_pg_month('o')} AS m, {sums} "  # noqa: S608
        f"FROM {OPP} o WHERE {_pg_contributes('o')} GROUP BY o.owner_id, o.pipeline_id, m"
    )


# ---------------------------------------------------------------- install, rebuild, check


def _conn(connection: Any) -> Any:
    return connection if connection is not None else default_connection


def installed(connection: Any = None) -> bool:
    conn = _conn(connection)
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(SQLITE_TRIGGERS))
            cursor.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608
                f"AND tbl_name = %s AND name IN ({marks})",
                [OPP, *SQLITE_TRIGGERS],
            )
            return bool(cursor.fetchone()[0] == len(SQLITE_TRIGGERS))
        cursor.execute(
            "SELECT COUNT(*) FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal",
            [PG_TRIGGER],
        )
        return bool(cursor.fetchone()[0] == 1)


def install(connection: Any = None) -> None:
    """(Re)create the triggers. Run `rebuild` afterwards: writes made without them are not
    in the summary."""
    conn = _conn(connection)
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            for sql in sqlite_statements():
                cursor.execute(sql)
        else:
            for sql in pg_statements():
                cursor.execute(sql)


def uninstall(connection: Any = None) -> None:
    conn = _conn(connection)
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON {OPP}")
            cursor.execute("DROP FUNCTION IF EXISTS forecast_month_changed()")
            cursor.execute(f"DROP FUNCTION IF EXISTS forecast_month_apply({OPP}, integer)")


def _truth(conn: Any) -> str:
    return _sqlite_truth() if conn.vendor == "sqlite" else _pg_truth()


def rebuild(connection: Any = None) -> int:
    """Recompute every row from the opportunities (in the caller's transaction); returns
    the number of rows."""
    conn = _conn(connection)
    with conn.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SUMMARY}")  # noqa: S608
        cursor.execute(f"INSERT INTO {SUMMARY} ({COLUMNS}) {_truth(conn)}")
        cursor.execute(f"SELECT COUNT(*) FROM {SUMMARY}")  # noqa: S608
        return int(cursor.fetchone()[0])


def differences(connection: Any = None) -> int:
    """How many rows differ between the summary and the opportunities (0 when right)."""
    conn = _conn(connection)
    stored = f"SELECT {COLUMNS} FROM {SUMMARY}"  # noqa: S608
    truth = _truth(conn)
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT * FROM ({truth}) t EXCEPT SELECT * FROM ({stored}) s) a"  # noqa: S608
        )
        missing = int(cursor.fetchone()[0])
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT * FROM ({stored}) s EXCEPT SELECT * FROM ({truth}) t) a"  # noqa: S608
        )
        extra = int(cursor.fetchone()[0])
    return missing + extra
