"""One background worker (Django Tasks, database backend)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background task worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--batch", action="store_true", help="Run queued tasks, then exit.")

    def handle(self, *args: Any, interval: float, batch: bool, **options: Any) -> None:
        call_command("db_worker", interval=interval, batch=batch, reload=False)
