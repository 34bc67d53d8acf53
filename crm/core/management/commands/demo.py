from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.demo import demo_load, demo_logins_table


class Command(BaseCommand):
    help = "Load the demo organisation and data (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Only when the database has no users yet."
        )
        parser.add_argument(
            "--print-logins", action="store_true", help="Only print the demo logins."
        )

    def handle(self, *args: Any, if_empty: bool, print_logins: bool, **o: Any) -> None:
        if print_logins:
            self.stdout.write(demo_logins_table())
            return
        from crm.access.models import User

        if if_empty and User.objects.exists():
            self.stdout.write("database not empty: demo data not loaded")
            return
        report = demo_load()
        self.stdout.write(self.style.SUCCESS(report))
