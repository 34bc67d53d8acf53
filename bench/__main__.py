"""`python -m bench [--repeat N] [--only TEXT ...] [--no-write] [--list]`."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
DOC = ROOT / "docs" / "benchmarks.md"


def _configure() -> None:
    """Point the CRM at the throwaway bench database before Django reads any setting.

    CRM_DATABASE_URL is overridden on purpose: seeding thousands of rows into a developer's
    own database by accident would be worse than any benchmark is useful.
    """
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CRM_DATA_DIR"] = str(DATA_DIR)
    os.environ["CRM_DATABASE_URL"] = os.environ.get("CRM_BENCH_DATABASE_URL") or (
        f"sqlite:///{DATA_DIR / 'bench.sqlite3'}"
    )
    os.environ["CRM_ENV"] = "embedded"  # secrets are generated in var/bench
    os.environ["CRM_DEBUG"] = "false"  # DEBUG keeps every query in memory and slows all down
    os.environ["CRM_API_RATE_LIMIT"] = "100000000/min"
    os.environ["CRM_ALLOWED_HOSTS"] = "testserver"  # Django's test client's host name
    os.environ.setdefault("CRM_LOG_LEVEL", "ERROR")
    # whitenoise notes that STATIC_ROOT was never collected; the bench serves no files.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--repeat",
        type=int,
        default=int(os.environ.get("BENCH_REPEAT", "50")),
        help="timed requests per scenario (default: BENCH_REPEAT or 50)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run scenarios whose name contains TEXT, "
        "or the whole group named TEXT (repeatable); implies --no-write",
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not write {DOC.name}")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    _configure()
    import django

    django.setup()
    from bench import scenarios  # noqa: F401  (registers the groups and scenarios)
    from bench.harness import GROUPS, SCENARIOS
    from bench.machine import machine_info
    from bench.report import busy, markdown, text_table
    from bench.runner import run, select

    if args.list:
        for name, grp in GROUPS.items():
            sizes = ", ".join(f"{s.env}={s.resolve():,}" for s in grp.sizes.values())
            print(f"{name}" + (f"  ({sizes})" if sizes else ""))
            for sc in SCENARIOS:
                if sc.group == name:
                    print(f"    {sc.name}")
        return 0

    chosen = select(args.only)
    if not chosen:
        parser.error(f"no scenario matches {args.only}")
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    result = run(chosen, repeat=args.repeat)
    machine = machine_info()
    print()
    print("  ".join(f"{k}: {v}" for k, v in machine.items()))
    print(text_table(result))
    if busy(machine):
        print("\nwarning: the load average is above the number of cores; times are inflated")
    if args.no_write or args.only:
        print(f"\n({DOC.relative_to(ROOT)} not written)")
    else:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(markdown(result, machine), encoding="utf-8")
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
