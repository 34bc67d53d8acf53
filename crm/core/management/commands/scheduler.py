"""The scheduler: run exactly one. It only enqueues; workers do the work."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from crm.scheduler.registry import job_list
from crm.scheduler.services import scheduler_tick


class Command(BaseCommand):
    help = "Run the periodic job scheduler."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=30.0)
        parser.add_argument("--once", action="store_true", help="One tick, then exit.")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        running = True

        def stop(signum: int, frame: Any) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("scheduler: " + ", ".join(j.name for j in job_list()))
        while running:
            close_old_connections()
            for name in scheduler_tick():
                self.stdout.write(f"enqueued {name}")
            if once:
                break
            slept = 0.0
            while running and slept < interval:
                time.sleep(0.5)
                slept += 0.5
