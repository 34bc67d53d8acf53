"""`crm rules run [--now 2027-01-08T09:00] [--rule KEY] [--dry-run]`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.core.errors import DomainError
from crm.reminders.services import rules_run


class Command(BaseCommand):
    help = "Reminder rules: `crm rules run` runs them now or as of --now (for previews and tests)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["run"])
        parser.add_argument("--now", help="ISO date-time, local time zone unless it has an offset")
        parser.add_argument("--rule", action="append", help="only this rule key (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be notified")

    def handle(
        self,
        *args: Any,
        action: str,
        now: str | None,
        rule: list[str] | None,
        dry_run: bool,
        **o: Any,
    ) -> None:
        as_of = timezone.now()
        if now:
            try:
                as_of = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now: not an ISO date-time: {now!r}") from exc
            if timezone.is_naive(as_of):
                as_of = timezone.make_aware(as_of, timezone.get_current_timezone())
        try:
            results = rules_run(now=as_of, keys=rule, dry_run=dry_run)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"as of {timezone.localtime(as_of):%Y-%m-%d %H:%M %Z}{' (dry run)' if dry_run else ''}"
        )
        failed = False
        for r in results:
            line = f"{r.rule:<20} matched {r.matched:>5}  new {r.new:>5}  notified {r.notified:>5}"
            if r.deferred_to:
                line += f"  deferred to {timezone.localtime(r.deferred_to):%Y-%m-%d %H:%M}"
            if r.error:
                line += f"  ERROR {r.error}"
                failed = True
            self.stdout.write(line)
            if dry_run:
                for sample in r.samples[:5]:
                    self.stdout.write(f"    · {sample}")
        if failed:
            raise CommandError("some rules failed")
