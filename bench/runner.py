"""Seed what the chosen scenarios need, then measure them.

Seeding is recorded in a small table of the bench database (`bench_seed`: group, sizes,
summary). A group already seeded with the same sizes is reused. When a recorded group's
sizes differ from the asked-for ones the database is flushed and everything is seeded
again, so groups never have to undo each other's data.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from dataclasses import dataclass, field

from bench.harness import GROUPS, SCENARIOS, Context, Group, Measurement, Scenario, ScenarioFailed

SEED_TABLE = "bench_seed"


@dataclass
class SeedLine:
    group: str
    sizes: dict[str, int]
    summary: str
    reused: bool
    seconds: float = 0.0


@dataclass
class Result:
    scenario: Scenario
    measurement: Measurement | None = None
    error: str = ""


@dataclass
class Run:
    repeat: int
    seeds: list[SeedLine] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.error]


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- the seed record


def _record_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SEED_TABLE} ("
            "name VARCHAR(100) PRIMARY KEY, sizes TEXT NOT NULL, summary TEXT NOT NULL)"
        )


def _records() -> dict[str, tuple[dict[str, int], str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, sizes, summary FROM {SEED_TABLE}")  # noqa: S608
        return {name: (json.loads(sizes), summary) for name, sizes, summary in cursor.fetchall()}


def _record(name: str, sizes: dict[str, int], summary: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SEED_TABLE} WHERE name = %s", [name])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {SEED_TABLE} (name, sizes, summary) VALUES (%s, %s, %s)",  # noqa: S608
            [name, json.dumps(sizes, sort_keys=True), summary],
        )


def _reset() -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SEED_TABLE}")  # noqa: S608


# ---------------------------------------------------------------- seeding and running


def groups_for(scenarios: list[Scenario]) -> list[Group]:
    """The groups the scenarios need, with their prerequisites, in registration order."""
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name in wanted:
            return
        wanted.add(name)
        for need in GROUPS[name].needs:
            add(need)

    for sc in scenarios:
        add(sc.group)
    return [g for name, g in GROUPS.items() if name in wanted]


def seed(ctx: Context, groups: list[Group]) -> list[SeedLine]:
    _record_table()
    records = _records()
    stale = [
        name
        for name, (sizes, _summary) in records.items()
        if name in GROUPS and sizes != GROUPS[name].resolved_sizes()
    ]
    if stale:
        _say(f"sizes changed for {', '.join(stale)}: emptying the bench database and reseeding")
        _reset()
        records = {}
    lines: list[SeedLine] = []
    for grp in groups:
        sizes = grp.resolved_sizes()
        if grp.name in records:
            line = SeedLine(grp.name, sizes, records[grp.name][1], reused=True)
        else:
            _say(f"seeding {grp.name} {sizes or ''}".rstrip() + " …")
            started = time.perf_counter()
            summary = grp.seed(ctx, sizes)
            _record(grp.name, sizes, summary)
            line = SeedLine(grp.name, sizes, summary, False, time.perf_counter() - started)
        _say(f"  {grp.name}: {line.summary}" + (" (reused)" if line.reused else ""))
        if grp.prepare is not None:
            grp.prepare(ctx)
        lines.append(line)
    return lines


def select(only: list[str]) -> list[Scenario]:
    if not only:
        return list(SCENARIOS)
    needles = [o.lower() for o in only]
    return [
        s for s in SCENARIOS if any(n in s.name.lower() or n == s.group.lower() for n in needles)
    ]


def run(scenarios: list[Scenario], *, repeat: int) -> Run:
    ctx = Context(repeat=repeat)
    result = Run(repeat=repeat)
    result.seeds = seed(ctx, groups_for(scenarios))
    for sc in scenarios:
        _say(f"measuring {sc.name} …")
        try:
            result.results.append(Result(sc, measurement=sc.fn(ctx)))
        except ScenarioFailed as exc:
            result.results.append(Result(sc, error=str(exc)))
        except Exception as exc:  # a broken scenario is reported, the others still run
            traceback.print_exc()
            result.results.append(Result(sc, error=f"{type(exc).__name__}: {exc}"))
    return result
