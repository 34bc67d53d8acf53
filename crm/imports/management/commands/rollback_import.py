"""`crm rollback-import BATCH [--user USERNAME]`: undo an import batch (created records to
the recycle bin, changed fields back to what they were)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.core.errors import DomainError
from crm.imports.management.options import actor_for


class Command(BaseCommand):
    help = "Roll back an import batch."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("batch", type=int)
        parser.add_argument("--user", help="as this user (default: the first administrator)")

    def handle(self, *args: Any, batch: int, **o: Any) -> None:
        from crm.imports.models import ImportBatch
        from crm.imports.services import import_rollback, import_rollback_execute

        actor = actor_for(o.get("user"))
        found = ImportBatch.objects.filter(pk=batch).first()
        if found is None:
            raise CommandError(f"no batch {batch}")
        try:
            import_rollback(actor=actor, batch=found, background=False)
            done = import_rollback_execute(found.pk)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        s = done.rollback_summary
        self.stdout.write(
            f"batch {done.pk} rolled back: {s.get('undone', 0)} rows undone, {s.get('failed', 0)} failed"
        )
        for problem in s.get("problems", [])[:50]:
            self.stdout.write(f"  {problem}")
