"""Health checks shared by GET /healthz (quick) and `crm check` (deep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


# Deep checks of other apps (the last backup…): each returns one Check.
_DEEP: list[Callable[[], Check]] = []


def health_check_register(check: Callable[[], Check]) -> None:
    if check not in _DEEP:
        _DEEP.append(check)


def database_check() -> Check:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return Check("database", False, f"{connection.vendor}: {type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - started) * 1000
    return Check("database", True, f"{connection.vendor} ok ({ms:.1f} ms)")


def health_checks(*, deep: bool = False) -> list[Check]:
    checks = [database_check()]
    if not deep:
        return checks
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        checks.append(
            Check(
                "migrations",
                not pending,
                "up to date" if not pending else f"{len(pending)} pending: run `crm migrate`",
            )
        )
    except Exception as exc:  # database down: already reported above
        checks.append(Check("migrations", False, str(exc)))
    data_dir = settings.DATA_DIR
    probe = data_dir / ".write-probe"
    try:
        probe.write_text("ok")
        probe.unlink()
        checks.append(Check("data dir", True, str(data_dir)))
    except OSError as exc:
        checks.append(Check("data dir", False, f"{data_dir}: {exc}"))
    checks.append(
        Check(
            "mode",
            True,
            "production" if settings.PRODUCTION else "embedded (secrets kept in the data dir)",
        )
    )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
        checks.append(Check("sqlite journal", mode == "wal", mode))
    try:
        from crm.audit.services import audit_verify

        result = audit_verify()
        checks.append(
            Check(
                "audit chain",
                result.ok,
                f"{result.checked} entries" + ("" if result.ok else f": {result.problems[0]}"),
            )
        )
    except Exception as exc:  # tables missing before migrate
        checks.append(Check("audit chain", False, str(exc)))
    for extra in _DEEP:
        try:
            checks.append(extra())
        except Exception as exc:  # tables missing before migrate
            checks.append(Check(getattr(extra, "__name__", "check"), False, str(exc)))
    return checks
