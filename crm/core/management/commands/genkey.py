from __future__ import annotations

import secrets
from typing import Any

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new secret: CRM_SECRET_KEY, or with --fernet a CRM_ENCRYPTION_KEY."

    requires_system_checks: list = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fernet", action="store_true")

    def handle(self, *args: Any, fernet: bool, **options: Any) -> None:
        self.stdout.write(Fernet.generate_key().decode() if fernet else secrets.token_urlsafe(50))
