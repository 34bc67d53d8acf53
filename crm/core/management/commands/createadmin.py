from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.core.errors import DomainError
from crm.core.setup import admin_create


class Command(BaseCommand):
    help = "Create an administrator non-interactively."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, username: str, password: str, email: str, **o: Any) -> None:
        try:
            user = admin_create(username=username, password=password, email=email)
        except DomainError as exc:
            field = f"{exc.field}: " if exc.field else ""
            raise CommandError(f"{field}{exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(f"administrator {user.username} created"))
