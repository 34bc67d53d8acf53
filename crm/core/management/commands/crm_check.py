"""`crm check`: configuration and database checks an administrator can run any time."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from crm.core.health import health_checks


class Command(BaseCommand):
    help = "Check configuration, database, migrations and the data directory."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("check", verbosity=0)
        failed = False
        for check in health_checks(deep=True):
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name}: {check.detail}")
            failed = failed or not check.ok
        if failed:
            raise CommandError("some checks failed")
