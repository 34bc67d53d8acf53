"""The sales benchmark (issue 5): the kanban of one pipeline with 2,000 open opportunities,
the forecast (page and API) over 1,000,000 opportunities, the opportunity list.

Seeding writes opportunities with multi-row INSERTs (no service calls, no audit entries, no
stage history, no search entries), the way bench/seed_customers.py writes customers: at a
million rows, going through opportunity_create would take hours and measure nothing the
scenarios read. Each opportunity belongs to a seeded customer and to that customer's owner
(a random sales user for a pool customer), so a rep's forecast is his own customers' deals.

Actors: `sun.hao` (销售总监, scope subtree of 销售中心: every sales user, ~1,000 owners),
`li.na` (华东 manager: ~340 reports) and `zhang.wei` (a 华东 rep: scope own).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bench.harness import Context, Measurement, Size, group, prepares, scenario

SEED = 2027
CHUNK = 20_000
KANBAN_PIPELINE = "基准看板"
KANBAN_OPEN = 2_000
KANBAN_REP_SHARE = 150  # of the kanban's open opportunities, zhang.wei's
DELETED_SHARE = 0.003  # soft-deleted opportunities (in the recycle bin)
PAST_MONTHS = 30  # expected close dates from 30 months ago …
FUTURE_MONTHS = 12  # … to 12 months ahead
OVERDUE_OPEN_SHARE = 0.12  # of the deals whose close date has passed, still open
WON_SHARE = 0.42  # of the closed ones, won
DIRECTOR = "sun.hao"
MANAGER = "li.na"
REP = "zhang.wei"
FORECAST_TARGET = 300  # ms, p95 at 1,000,000 opportunities (issue 5)
KANBAN_TARGET = 100  # ms, p95 with 2,000 open opportunities in the pipeline (issue 5)
DDL_TABLE = "bench_ddl"
BULK_TABLES = ("opportunities_opportunity",)

# The kanban's own stages (name, kind, probability): a pipeline only the benchmark uses.
KANBAN_STAGES = [
    ("线索确认", "open", 10),
    ("需求分析", "open", 25),
    ("方案报价", "open", 45),
    ("商务谈判", "open", 65),
    ("签约审批", "open", 85),
    ("赢单", "won", 100),
    ("输单", "lost", 0),
]
# Used only when the default pipelines of opportunities migration 0002 are missing.
FALLBACK_STAGES = [
    ("初步接洽", "open", 10),
    ("需求确认", "open", 20),
    ("方案报价", "open", 40),
    ("商务谈判", "open", 60),
    ("合同签订", "open", 80),
    ("赢单", "won", 100),
    ("输单", "lost", 0),
]

DEAL_WORDS = (
    "产线自动化改造",
    "MES 系统升级",
    "数控机床采购",
    "年度备件框架",
    "智能仓储项目",
    "检测设备更新",
    "机器人工作站",
    "维保服务续约",
    "二期扩产",
    "节能改造",
    "质量追溯系统",
    "注塑设备采购",
)
COMPETITORS = ("", "", "", "西门子", "发那科", "汇川技术", "埃斯顿", "新松")
SOURCES = ("", "展会", "官网", "老客户介绍", "电话营销", "渠道伙伴")


NOTES = """
Three actors, because the visibility predicate differs: `sun.hao` (销售总监: scope subtree
of 销售中心, i.e. every sales user, ~1,000 owners), `li.na` (华东 manager, subtree of 华东: ~340
owners) and `zhang.wei` (a 华东 rep: scope own). The forecast's default period is the
current quarter; "this year", "next 12 months" and a 36-month custom period (the longest
allowed) widen it. Targets (issue 5): p95 ≤ 300 ms for the forecast at 1,000,000
opportunities and ≤ 100 ms for the kanban of a pipeline with 2,000 open opportunities.

Data: opportunities over 42 months of expected close dates (30 past, 12 ahead); a deal
whose date has passed is won (42 %) or lost, 12 % are still open (overdue); future deals are
open, in stages weighted towards the early ones, with the stage's probability (10 % set by
hand) and a forecast category following it (commit ≥ 80 %, best ≥ 50 %, 3 % omitted). Won
deals close within a few weeks of their date (`closed_at`). 0.3 % are in the recycle bin.
Every sales user has a monthly target, and each sales department one, over the whole span.
The kanban pipeline (基准看板) holds exactly 2,000 open deals of 华东 (150 of them
zhang.wei's) plus 400 closed ones. Seeding writes rows with multi-row INSERTs (no services,
no audit, stage history or search entries) with the opportunity table's indexes and the
forecast triggers dropped, then rebuilds the forecast summary in one pass.

What the benchmark found, and what changed:

* **Summing the opportunities is not enough.** Measured on this data before any summary
  existed: the open pipeline of a director's next twelve months from the covering index
  `opp_forecast` read ~290,000 index entries, 270–320 ms for that query alone (and three
  times as much with `deleted_at IS NULL`, a column the index lacks); won deals by month of
  `closed_at`, which no index holds, took 0.5–1.1 s.
* **A summary kept by triggers** (`crm/forecast/summary.py`): one row per owner, pipeline
  and month with a column per figure (88,000 rows here; ~25,000 in a twelve-month window),
  maintained by SQLite/PostgreSQL triggers on the opportunity table, so every write path
  keeps it (services, recycle bin, bulk updates, imports). A first version with one row per
  category had 194,000 rows; folding the categories into columns cut the reads by a third.
  One opportunity UPDATE costs the triggers well under a millisecond (scenario "summary
  trigger").
* **Scope as a list of owners.** `visible()`'s predicate for a director includes "owner in
  [~1,000 reports]"; preparing that list for every query cost more than the queries. The
  forecast computes the owners once per request (the reports branch taken as the list it
  already is) and sends plain SQL with the ids.
* **API output.** ninja's Schema getter made serialising a thousand owner rows slower than
  computing them (~200 ms); the forecast's output models are plain pydantic models.

Outside the forecast (reported to the owners of those pages): the kanban's SQL takes ~40
ms for the manager; the rest of its time is template rendering. The opportunity list's
totals (COUNT/SUM over every opportunity the manager sees, ~340,000 rows) take ~1.1 s.
"""


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _month_add(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------- pipelines


def _pipeline_ensure(name: str, stages: list[tuple[str, str, int]], order: int) -> Any:
    from crm.opportunities.models import Pipeline, Stage

    pipeline, created = Pipeline.objects.get_or_create(
        name=name, defaults={"order": order, "description": "基准测试"}
    )
    if created or not pipeline.stages.exists():
        for i, (stage, kind, probability) in enumerate(stages):
            Stage.objects.get_or_create(
                pipeline=pipeline,
                name=stage,
                defaults={"order": (i + 1) * 10, "kind": kind, "probability": probability},
            )
    return pipeline


def _stages(pipeline: Any) -> dict[str, list[tuple[int, int]]]:
    """{kind: [(stage id, probability), …]} in stage order."""
    out: dict[str, list[tuple[int, int]]] = {"open": [], "won": [], "lost": []}
    for pk, kind, probability in pipeline.stages.filter(is_active=True).values_list(
        "pk", "kind", "probability"
    ):
        out.setdefault(kind, []).append((pk, probability))
    if not (out["open"] and out["won"] and out["lost"]):
        raise SystemExit(f"pipeline {pipeline.name} needs open, won and lost stages")
    return out


# ---------------------------------------------------------------- the generator


class Generator:
    """Deterministic synthetic opportunities (the same sizes give the same data)."""

    def __init__(
        self,
        *,
        columns: list[str],
        defaults: dict[str, Any],
        customers: list[tuple[int, int | None]],
        owners: list[int],
        admin: int,
        pipelines: list[tuple[int, dict[str, list[tuple[int, int]]], int]],
        today: dt.date,
        now: dt.datetime,
    ) -> None:
        from django.db import connection

        self.rng = random.Random(SEED)
        self.columns = columns
        self.defaults = defaults
        self.customers = customers
        self.owners = owners
        self.admin = admin
        self.pipelines = [(pk, stages) for pk, stages, _w in pipelines]
        self.pipeline_cum: list[int] = []
        total = 0
        for _pk, _stages, weight in pipelines:
            total += weight
            self.pipeline_cum.append(total)
        self.today = today
        self.now = now
        self.first_day = _month_add(today.replace(day=1), -PAST_MONTHS)
        self.span_days = (_month_add(today.replace(day=1), FUTURE_MONTHS + 1) - self.first_day).days
        self.adapt_dt = connection.ops.adapt_datetimefield_value
        self.adapt_date = connection.ops.adapt_datefield_value
        self.counts = {"open": 0, "won": 0, "lost": 0, "deleted": 0}

    def when(self, moment: dt.datetime) -> str:
        return str(self.adapt_dt(moment))

    def _stage(self, stages: dict[str, list[tuple[int, int]]], status: str) -> tuple[int, int]:
        if status != "open":
            return stages[status][0]
        opened = stages["open"]
        # Early stages hold more deals: weights n, n-1, …, 1.
        weights = list(range(len(opened), 0, -1))
        return self.rng.choices(opened, weights=weights)[0]

    def _category(self, probability: int) -> str:
        r = self.rng.random()
        if r < 0.03:
            return "omitted"
        if probability >= 80:
            return "commit" if r < 0.85 else "best"
        if probability >= 50:
            return "best" if r < 0.7 else ("commit" if r < 0.8 else "pipeline")
        return "pipeline" if r < 0.9 else "best"

    def row(
        self,
        pk: int,
        *,
        pipeline: tuple[int, dict[str, list[tuple[int, int]]]] | None = None,
        owner: int | None = None,
        status: str | None = None,
        close: dt.date | None = None,
        may_delete: bool = True,
    ) -> tuple[Any, ...]:
        rng = self.rng
        customer, customer_owner = self.customers[rng.randrange(len(self.customers))]
        if owner is None:
            owner = customer_owner or rng.choice(self.owners)
        if pipeline is None:
            pipeline = rng.choices(self.pipelines, cum_weights=self.pipeline_cum)[0]
        pipeline_id, stages = pipeline
        if close is None:
            close = self.first_day + dt.timedelta(days=rng.randrange(self.span_days))
        if status is None:
            if close >= self.today or rng.random() < OVERDUE_OPEN_SHARE:
                status = "open"
            else:
                status = "won" if rng.random() < WON_SHARE else "lost"
        stage, probability = self._stage(stages, status)
        manual = status == "open" and rng.random() < 0.1
        if manual:
            probability = max(5, min(95, probability + rng.choice((-15, -10, 10, 15))))
        category = self._category(probability) if status == "open" else "pipeline"
        if status == "won":
            category = "commit"
        amount = Decimal(round(math.exp(rng.uniform(math.log(5_000), math.log(2_000_000))), -2))
        created = dt.datetime.combine(close, dt.time(9), tzinfo=dt.UTC) - dt.timedelta(
            days=rng.randrange(20, 200)
        )
        created = min(created, self.now - dt.timedelta(days=1))
        closed_at = None
        if status != "open":
            closed_day = min(close + dt.timedelta(days=rng.randrange(-25, 10)), self.today)
            closed_at = dt.datetime.combine(closed_day, dt.time(10), tzinfo=dt.UTC)
            closed_at = max(closed_at, created + dt.timedelta(hours=1))
        entered = (
            created + ((closed_at or self.now) - created) * rng.random()
            if status == "open"
            else (closed_at or created)
        )
        deleted = rng.random() < DELETED_SHARE and may_delete
        self.counts["deleted" if deleted else status] += 1
        values = dict(self.defaults)
        values.update(
            id=pk,
            created_at=self.when(created),
            updated_at=self.when(entered),
            version=1,
            deleted_at=self.when(self.now - dt.timedelta(days=rng.randrange(1, 30)))
            if deleted
            else None,
            customer_id=customer,
            name=f"{rng.choice(DEAL_WORDS)}（{pk}）",
            amount=str(amount),
            currency="CNY",
            expected_close_date=str(self.adapt_date(close)),
            pipeline_id=pipeline_id,
            stage_id=stage,
            stage_entered_at=self.when(entered),
            probability=probability,
            probability_manual=manual,
            forecast_category=category,
            status=status,
            competitors=rng.choice(COMPETITORS),
            source=rng.choice(SOURCES),
            lost_reason="价格偏高" if status == "lost" else "",
            closed_at=None if closed_at is None else self.when(closed_at),
            owner_id=owner,
            created_by_id=owner,
        )
        return tuple(values[c] for c in self.columns)


def _columns() -> tuple[list[str], dict[str, Any]]:
    """The table's columns (by attname) and a default database value for each: columns
    another app adds later get their model default without this file changing."""
    from django.db import connection

    from crm.opportunities.models import Opportunity

    columns: list[str] = []
    defaults: dict[str, Any] = {}
    for f in Opportunity._meta.concrete_fields:
        column = str(f.column)
        columns.append(column)
        # The model's default ("" for text); the generator sets the others (id, customer…).
        value = f.get_default()
        defaults[column] = None if value is None else f.get_db_prep_save(value, connection)
    for name, value in list(defaults.items()):
        if isinstance(value, (dict, list)):
            import json

            defaults[name] = json.dumps(value)
        elif hasattr(value, "adapted"):  # psycopg Json wrapper
            import json

            defaults[name] = json.dumps(value.adapted)
    return columns, defaults


def _insert(cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    cursor.executemany(sql, rows)


def _chunks(first: int, total: int, size: int) -> Iterator[tuple[int, int]]:
    start = first
    end = first + total
    while start < end:
        n = min(size, end - start)
        yield start, n
        start += n


def _sqlite() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite"


def _ddl_drop(cursor: Any) -> list[tuple[str, str, str]]:
    marks = ", ".join(["%s"] * len(BULK_TABLES))
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master "  # noqa: S608
        f"WHERE tbl_name IN ({marks}) AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        list(BULK_TABLES),
    )
    dropped = [(kind, name, sql) for kind, name, sql in cursor.fetchall()]
    for _kind, name, sql in dropped:
        cursor.execute(
            f"INSERT OR REPLACE INTO {DDL_TABLE} (name, sql) VALUES (%s, %s)",  # noqa: S608
            [name, sql],
        )
    for kind, name, _sql in dropped:
        cursor.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    return dropped


def _clear(cursor: Any) -> None:
    """Remove earlier bench opportunities and targets (a changed size, an interrupted seed)."""
    from crm.forecast.models import SalesTarget

    for table in (
        "opportunities_stagehistory",
        "opportunities_opportunitycontact",
        "opportunities_opportunity",
        SalesTarget._meta.db_table,
    ):
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    summary = _summary_table()
    if summary:
        cursor.execute(f"DELETE FROM {summary}")  # noqa: S608


def _summary_table() -> str | None:
    """The forecast's summary table, when crm.forecast keeps one."""
    try:
        from crm.forecast.models import ForecastMonth
    except ImportError:
        return None
    return str(ForecastMonth._meta.db_table)


def seed(opportunities: int) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.seed_customers import ddl_restore
    from crm.access.models import Department, Role, User

    started = time.perf_counter()
    timings: dict[str, float] = {}
    today = timezone.localdate()
    now = timezone.now().replace(microsecond=0)
    admin = User.objects.get(username="admin")
    rep = User.objects.get(username=REP)
    sales_roles = Role.objects.filter(code__in=["sales_rep", "sales_manager"])
    owners = sorted(
        User.objects.filter(roles__in=sales_roles, is_active=True)
        .values_list("pk", flat=True)
        .distinct()
    )
    east = Department.objects.get(name="华东销售部")
    east_owners = sorted(
        set(owners)
        & set(
            User.objects.filter(department__path__startswith=east.path).values_list("pk", flat=True)
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, owner_id FROM customers_customer WHERE deleted_at IS NULL")
        customers: list[tuple[int, int | None]] = [(a, b) for a, b in cursor.fetchall()]
    if not customers:
        raise SystemExit("the sales group needs customers (group customers)")
    new = _pipeline_ensure("新客户", FALLBACK_STAGES, 10)
    renewal = _pipeline_ensure("续约", FALLBACK_STAGES, 20)
    kanban = _pipeline_ensure(KANBAN_PIPELINE, KANBAN_STAGES, 90)
    columns, defaults = _columns()
    generator = Generator(
        columns=columns,
        defaults=defaults,
        customers=customers,
        owners=owners,
        admin=admin.pk,
        pipelines=[(new.pk, _stages(new), 70), (renewal.pk, _stages(renewal), 30)],
        today=today,
        now=now,
    )
    kanban_stages = _stages(kanban)
    sqlite = _sqlite()
    dropped: list[tuple[str, str, str]] = []
    table = "opportunities_opportunity"
    kanban_closed = 400
    bulk = max(opportunities - KANBAN_OPEN - kanban_closed, 0)
    with connection.cursor() as cursor:
        if sqlite:
            ddl_restore()
            for pragma in (
                "journal_mode=OFF",
                "synchronous=OFF",
                "foreign_keys=OFF",
                "cache_size=-1000000",
                "temp_store=MEMORY",
            ):
                cursor.execute(f"PRAGMA {pragma}")
        try:
            with transaction.atomic():
                if sqlite:
                    dropped = _ddl_drop(cursor)
                _clear(cursor)
            timings["prepare"] = time.perf_counter() - started
            load_started = time.perf_counter()
            gen = 0.0
            # The kanban pipeline first (ids 1…2,400): 2,000 open deals of 华东, closing in
            # the coming months, 150 of them the rep's; 400 closed ones.
            rows = []
            for i in range(KANBAN_OPEN + kanban_closed):
                pk = i + 1
                is_open = i < KANBAN_OPEN
                owner = rep.pk if i < KANBAN_REP_SHARE else generator.rng.choice(east_owners)
                close = today + dt.timedelta(days=generator.rng.randrange(0, 150))
                if not is_open:
                    close = today - dt.timedelta(days=generator.rng.randrange(1, 120))
                status = "open" if is_open else ("won" if i % 2 else "lost")
                rows.append(
                    generator.row(
                        pk,
                        pipeline=(kanban.pk, kanban_stages),
                        owner=owner,
                        status=status,
                        close=close,
                        may_delete=not is_open,  # exactly 2,000 on the board
                    )
                )
            with transaction.atomic():
                _insert(cursor, table, columns, rows)
            first = KANBAN_OPEN + kanban_closed + 1
            for start, count in _chunks(first, bulk, CHUNK):
                t0 = time.perf_counter()
                rows = [generator.row(pk) for pk in range(start, start + count)]
                gen += time.perf_counter() - t0
                with transaction.atomic():
                    _insert(cursor, table, columns, rows)
                done = start + count - 1
                if done % 100_000 < CHUNK or start + count - first >= bulk:
                    rate = done / (time.perf_counter() - load_started)
                    _say(f"    {done:,} opportunities ({rate:,.0f}/s)")
            timings["generate"] = gen
            timings["insert"] = time.perf_counter() - load_started - gen
            t0 = time.perf_counter()
            targets = _targets(cursor, owners, today)
            timings["targets"] = time.perf_counter() - t0
        finally:
            if sqlite:
                t0 = time.perf_counter()
                # Indexes first (built by sorting), then the triggers (the forecast summary
                # is rebuilt below in one pass instead of a million trigger runs).
                for kind in ("index", "trigger"):
                    for k, _name, sql in dropped:
                        if k == kind:
                            cursor.execute(sql)
                timings["indexes"] = time.perf_counter() - t0
                ddl_restore()
                for pragma in (
                    "cache_size=-64000",
                    "foreign_keys=ON",
                    "synchronous=NORMAL",
                    "journal_mode=WAL",
                ):
                    cursor.execute(f"PRAGMA {pragma}")
    if not sqlite:
        from django.core.management.color import no_style

        from crm.forecast.models import SalesTarget
        from crm.opportunities.models import Opportunity

        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Opportunity, SalesTarget]):
                cursor.execute(sql)
            cursor.execute("ANALYZE")
    t0 = time.perf_counter()
    summary = _summary_rebuild()
    timings["summary"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    return {
        "counts": generator.counts,
        "targets": targets,
        "owners": len(owners),
        "summary": summary,
        "seconds": timings,
    }


def _summary_rebuild() -> int | None:
    try:
        from crm.forecast.services import forecast_summary_rebuild
    except ImportError:
        return None
    return int(forecast_summary_rebuild())


def _targets(cursor: Any, owners: list[int], today: dt.date) -> int:
    """A monthly target for every sales user and sales department over the seeded span."""
    from crm.access.models import Department, User
    from crm.forecast.models import SalesTarget

    rng = random.Random(SEED + 1)
    start = _month_add(today.replace(day=1), -PAST_MONTHS)
    months = [_month_add(start, i) for i in range(PAST_MONTHS + FUTURE_MONTHS + 1)]
    admin = User.objects.get(username="admin").pk
    now = str(cursor.db.ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC)))
    table = SalesTarget._meta.db_table
    columns = [
        "created_at",
        "updated_at",
        "user_id",
        "department_id",
        "month",
        "amount",
        "set_by_id",
    ]
    rows: list[tuple[Any, ...]] = []
    for owner in owners:
        base = rng.randrange(20, 80) * 10_000
        for month in months:
            rows.append((now, now, owner, None, str(month), f"{base}.00", admin))
    departments = Department.objects.filter(
        name__in=["华东销售部", "华南销售部", "华北销售部", "销售中心"]
    ).values_list("pk", flat=True)
    for dept in departments:
        for month in months:
            rows.append((now, now, None, dept, str(month), "150000000.00", admin))
    for start_row in range(0, len(rows), CHUNK):
        _insert(cursor, table, columns, rows[start_row : start_row + CHUNK])
    return len(rows)


# ---------------------------------------------------------------- the group


@group(
    "sales",
    sizes={"opportunities": Size("BENCH_OPPORTUNITIES", 100_000, "opportunities")},
    needs=("customers",),
    notes=NOTES,
)
def seed_sales(ctx: Context, sizes: dict[str, int]) -> str:
    result = seed(sizes["opportunities"])
    c = result["counts"]
    s = result["seconds"]
    total = sum(c.values())
    rate = total / s["total"] if s["total"] else 0
    parts = [
        f"{total:,} opportunities ({c['open']:,} open, {c['won']:,} won, {c['lost']:,} lost, "
        f"{c['deleted']:,} in the recycle bin) of {result['owners']:,} owners",
        f"pipeline {KANBAN_PIPELINE} with {KANBAN_OPEN:,} open",
        f"{result['targets']:,} monthly targets",
    ]
    if result["summary"] is not None:
        parts.append(f"{result['summary']:,} forecast summary rows")
    parts.append(
        f"seeded in {s['total']:.0f} s ({rate:,.0f}/s: rows {s['generate']:.0f} s, "
        f"insert {s['insert']:.0f} s, indexes {s.get('indexes', 0):.0f} s"
        + (f", summary {s['summary']:.0f} s" if result["summary"] is not None else "")
        + ")"
    )
    with contextlib.suppress(OSError):
        parts.append(f"load average {os.getloadavg()[1]:.1f} (5 min) when the seed ended")
    return "; ".join(parts)


@prepares("sales")
def prepare_sales(ctx: Context) -> None:
    from crm.access.defaults import roles_ensure
    from crm.access.models import User
    from crm.opportunities.models import Opportunity, Pipeline

    # The org group may have been seeded before the sales entities existed: give the
    # standard roles their missing default grants (never overwrites an edited grant).
    roles_ensure()
    ctx.data["kanban_pipeline"] = Pipeline.objects.get(name=KANBAN_PIPELINE).pk
    ctx.data["main_pipeline"] = Pipeline.objects.get(name="新客户").pk
    ctx.data["rep_id"] = User.objects.get(username=REP).pk
    ctx.data["trigger_opportunity"] = (
        Opportunity.objects.filter(status="open", pipeline__name="新客户")
        .order_by("-id")
        .values_list("pk", flat=True)[:1][0]
    )


# ---------------------------------------------------------------- scenarios: the kanban


def _kanban(ctx: Context, username: str) -> Measurement:
    return ctx.get(
        "/opportunities/kanban/",
        client=ctx.client_as(username),
        pipeline=ctx.data["kanban_pipeline"],
    )


@scenario(
    "sales",
    "GET /opportunities/kanban/ 2,000 open (manager)",
    note="li.na: all 2,000 open deals of the pipeline are her team's",
    target_ms=KANBAN_TARGET,
)
def kanban_manager(ctx: Context) -> Measurement:
    return _kanban(ctx, MANAGER)


@scenario(
    "sales",
    "GET /opportunities/kanban/ 2,000 open (rep)",
    note="zhang.wei: 150 of them his",
    target_ms=KANBAN_TARGET,
)
def kanban_rep(ctx: Context) -> Measurement:
    return _kanban(ctx, REP)


@scenario(
    "sales",
    "GET /opportunities/kanban/ 2,000 open (director)",
    note="sun.hao: scope subtree of 销售中心",
    target_ms=KANBAN_TARGET,
)
def kanban_director(ctx: Context) -> Measurement:
    return _kanban(ctx, DIRECTOR)


# ---------------------------------------------------------------- scenarios: the forecast


def _forecast_page(ctx: Context, username: str, **params: Any) -> Measurement:
    return ctx.get("/forecast/", client=ctx.client_as(username), **params)


def _forecast_api(ctx: Context, username: str, **params: Any) -> Measurement:
    return ctx.get("/api/v1/forecast", client=ctx.anon, headers=ctx.token(username), **params)


@scenario(
    "sales",
    "GET /forecast/ this quarter (director)",
    note="default page: by team, chart by month",
    target_ms=FORECAST_TARGET,
)
def forecast_page_director(ctx: Context) -> Measurement:
    return _forecast_page(ctx, DIRECTOR)


@scenario(
    "sales",
    "GET /forecast/ this quarter by owner (director)",
    note="~1,000 owners, 50 rows per page",
    target_ms=FORECAST_TARGET,
)
def forecast_page_director_owner(ctx: Context) -> Measurement:
    return _forecast_page(ctx, DIRECTOR, group="owner")


@scenario(
    "sales",
    "GET /forecast/ next 12 months by owner (director)",
    note="12 months of open pipeline, ~1,000 owners",
    target_ms=FORECAST_TARGET,
)
def forecast_page_director_year(ctx: Context) -> Measurement:
    return _forecast_page(ctx, DIRECTOR, period="next_12", group="owner")


@scenario(
    "sales",
    "GET /forecast/ this quarter (manager)",
    note="li.na: ~340 owners, by owner",
    target_ms=FORECAST_TARGET,
)
def forecast_page_manager(ctx: Context) -> Measurement:
    return _forecast_page(ctx, MANAGER)


@scenario(
    "sales",
    "GET /forecast/ this year (manager)",
    note="li.na, by owner",
    target_ms=FORECAST_TARGET,
)
def forecast_page_manager_year(ctx: Context) -> Measurement:
    return _forecast_page(ctx, MANAGER, period="this_year")


@scenario(
    "sales",
    "GET /forecast/ this quarter (rep)",
    note="zhang.wei, by month",
    target_ms=FORECAST_TARGET,
)
def forecast_page_rep(ctx: Context) -> Measurement:
    return _forecast_page(ctx, REP)


@scenario(
    "sales",
    "GET /api/v1/forecast?group=owner (director)",
    note="this quarter, every owner in one response",
    target_ms=FORECAST_TARGET,
)
def forecast_api_director(ctx: Context) -> Measurement:
    return _forecast_api(ctx, DIRECTOR, group="owner")


@scenario(
    "sales",
    "GET /api/v1/forecast?period=next_12&group=owner (director)",
    note="12 months × ~1,000 owners",
    target_ms=FORECAST_TARGET,
)
def forecast_api_director_year(ctx: Context) -> Measurement:
    return _forecast_api(ctx, DIRECTOR, period="next_12", group="owner")


@scenario(
    "sales",
    "GET /api/v1/forecast?period=custom 36 months&group=team (director)",
    note="the longest period allowed",
    target_ms=FORECAST_TARGET,
)
def forecast_api_director_36(ctx: Context) -> Measurement:
    from django.utils import timezone

    this_month = timezone.localdate().replace(day=1)
    return _forecast_api(
        ctx,
        DIRECTOR,
        period="custom",
        to=f"{_month_add(this_month, 11):%Y-%m}",
        group="team",
        **{"from": f"{_month_add(this_month, -24):%Y-%m}"},
    )


@scenario(
    "sales",
    "GET /api/v1/forecast?pipeline=&group=month (director)",
    note="one pipeline, next 12 months",
    target_ms=FORECAST_TARGET,
)
def forecast_api_director_pipeline(ctx: Context) -> Measurement:
    return _forecast_api(
        ctx, DIRECTOR, period="next_12", group="month", pipeline=ctx.data["main_pipeline"]
    )


@scenario(
    "sales",
    "GET /api/v1/forecast?group=owner (manager)",
    note="li.na, this quarter",
    target_ms=FORECAST_TARGET,
)
def forecast_api_manager(ctx: Context) -> Measurement:
    return _forecast_api(ctx, MANAGER, group="owner")


@scenario(
    "sales",
    "GET /api/v1/forecast?period=this_year&group=month (rep)",
    note="zhang.wei",
    target_ms=FORECAST_TARGET,
)
def forecast_api_rep(ctx: Context) -> Measurement:
    return _forecast_api(ctx, REP, period="this_year", group="month")


@scenario(
    "sales",
    "GET /forecast/targets/ (manager)",
    note="li.na: the year's grid, 50 people per page",
)
def targets_page_manager(ctx: Context) -> Measurement:
    return ctx.get("/forecast/targets/", client=ctx.client_as(MANAGER))


@scenario(
    "sales",
    "POST /api/v1/forecast/targets (manager)",
    note="one month of a report's target: permission check, upsert, audit",
)
def target_set_api(ctx: Context) -> Measurement:
    from django.utils import timezone

    headers = ctx.token(MANAGER)
    month = f"{timezone.localdate():%Y-%m}"
    amounts = iter(range(10**9))

    def post() -> Any:
        body = {"user_id": ctx.data["rep_id"], "month": month, "amount": 500_000 + next(amounts)}
        return ctx.anon.post(
            "/api/v1/forecast/targets", body, content_type="application/json", headers=headers
        )

    return ctx.measure(post, expect=200)


@scenario(
    "sales",
    "summary trigger: one opportunity's amount changed",
    note="UPDATE of one row: the triggers move its sums (compare: the same UPDATE of notes)",
)
def summary_trigger(ctx: Context) -> Measurement:
    from django.db import transaction

    from crm.opportunities.models import Opportunity

    pk = ctx.data["trigger_opportunity"]
    amounts = iter(range(10**9))

    def update() -> None:
        with transaction.atomic():
            Opportunity.objects.filter(pk=pk).update(amount=Decimal(100_000 + next(amounts)))

    return ctx.call(update)


# ---------------------------------------------------------------- scenarios: the list


@scenario(
    "sales",
    "GET /opportunities/ (manager)",
    note="li.na: first page, ~340 owners' deals",
)
def opportunity_list_manager(ctx: Context) -> Measurement:
    return ctx.get("/opportunities/", client=ctx.client_as(MANAGER))


@scenario(
    "sales",
    "GET /opportunities/ totals (manager)",
    note="li.na: the totals the list page loads after its rows (htmx)",
)
def opportunity_list_totals_manager(ctx: Context) -> Measurement:
    return ctx.get(
        "/opportunities/",
        client=ctx.client_as(MANAGER),
        headers={"HX-Request": "true", "HX-Target": "opp-totals"},
    )


@scenario("sales", "GET /opportunities/ (rep)", note="zhang.wei: first page")
def opportunity_list_rep(ctx: Context) -> Measurement:
    return ctx.get("/opportunities/", client=ctx.client_as(REP))


@scenario("sales", "GET /api/v1/opportunities (manager)", note="li.na: first page")
def opportunity_api_manager(ctx: Context) -> Measurement:
    return ctx.get("/api/v1/opportunities", client=ctx.anon, headers=ctx.token(MANAGER))


@scenario(
    "sales",
    "GET /api/v1/opportunities?totals=false (manager)",
    note="li.na: a page without the sum",
)
def opportunity_api_manager_no_totals(ctx: Context) -> Measurement:
    return ctx.get(
        "/api/v1/opportunities", client=ctx.anon, headers=ctx.token(MANAGER), totals="false"
    )
