"""What the figures were measured on: written next to them in docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def _cpuinfo_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        # x86 says "model name"; some ARM kernels only say "Hardware" or "Processor".
        if key.strip() in {"model name", "Hardware", "Processor"} and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _cores() -> str:
    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = logical
    return str(logical) if usable == logical else f"{usable} usable of {logical}"


def _load() -> str:
    """The load average when the run ended: other work on the machine widens the p95."""
    try:
        one, five, _fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min) at the end of the run"


def _database() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
        return f"SQLite {sqlite3.sqlite_version} (journal_mode={mode})"
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        version: int = getattr(connection, "pg_version", 0)  # e.g. 150004
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    return connection.vendor


def machine_info() -> dict[str, str]:
    import django

    return {
        "CPU": _cpuinfo_model(),
        "Cores": _cores(),
        "RAM": _ram_gib(),
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "Database": _database(),
        "Load": _load(),
        "Date": dt.date.today().isoformat(),
    }
