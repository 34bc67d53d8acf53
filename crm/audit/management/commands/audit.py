from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.audit.services import audit_verify, audit_verify_and_record


class Command(BaseCommand):
    help = "Audit trail tools: `crm audit verify` checks the hash chain."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])
        parser.add_argument(
            "--record", action="store_true", help="Also write the verdict into the audit log."
        )

    def handle(self, *args: Any, action: str, record: bool, **options: Any) -> None:
        result = audit_verify_and_record() if record else audit_verify()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain OK ({result.checked} entries)"))
            return
        for problem in result.problems:
            self.stderr.write(problem)
        raise CommandError(f"audit chain BROKEN ({len(result.problems)} problem(s))")
