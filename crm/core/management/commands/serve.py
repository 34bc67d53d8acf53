"""Embedded mode: migrate, then web server + one worker + the scheduler, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the CRM in embedded mode (web, worker and scheduler in one process group)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args: Any, host: str, port: int, no_migrate: bool, **options: Any) -> None:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
            if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
                call_command("createcachetable", verbosity=0)
        crm = [sys.executable, "-m", "crm.cli"]
        children = {
            "web": subprocess.Popen([*crm, "web", "--host", host, "--port", str(port)]),
            "worker": subprocess.Popen([*crm, "worker"]),
            "scheduler": subprocess.Popen([*crm, "scheduler"]),
        }
        self.stdout.write(f"CRM running on http://{host}:{port}/  (Ctrl-C stops everything)")
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, proc in children.items():
                    code = proc.poll()
                    if code is not None:
                        self.stderr.write(f"{name} exited with {code}; stopping the others")
                        exit_code = code or 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for proc in children.values():
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    proc.kill()
        if exit_code:
            os._exit(exit_code)
