"""The web server alone (scaled mode: run several behind a load balancer)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("CRM_WEB_WORKERS", 2))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("CRM_WEB_THREADS", 4))
        )

    def handle(
        self, *args: Any, host: str, port: int, workers: int, threads: int, **o: Any
    ) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ]
        os.execv(sys.executable, argv)  # noqa: S606  (replaces this process with gunicorn)
