from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from crm.dedupe.services import SCAN_MIN_SCORE, duplicate_scan


class Command(BaseCommand):
    help = (
        "Duplicate customers: `crm dedupe scan` finds candidate pairs among all customers "
        "and queues them for review (/duplicates/); `--recent` only looks at customers "
        "changed since the last scan."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["scan"])
        parser.add_argument(
            "--recent", action="store_true", help="only customers changed since the last scan"
        )
        parser.add_argument(
            "--min-score",
            type=float,
            default=SCAN_MIN_SCORE,
            help=f"lowest score queued for pairs without an exact key (default {SCAN_MIN_SCORE:g})",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(
        self, *args: Any, action: str, recent: bool, min_score: float, **options: Any
    ) -> None:
        result = duplicate_scan(full=not recent, min_score=min_score)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        kind = "full" if result.full else "recent"
        self.stdout.write(
            self.style.SUCCESS(
                f"dedupe scan ({kind}): {result.customers} customers, "
                f"{result.created} new pairs, {result.updated} updated, "
                f"{result.obsoleted} obsolete, {result.stats.get('seconds_total')} s"
            )
        )
