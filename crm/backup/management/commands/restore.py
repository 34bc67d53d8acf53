"""`crm restore PATH [--force]`: the database and the attachments from a backup."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections


class Command(BaseCommand):
    help = (
        "Restore the database and the attachments from a backup made by `crm backup` "
        "(a directory, .tar or .tar.gz). Refuses when the database already holds data or "
        "the media directory files, unless --force (old attachments are moved aside). "
        "Stop `crm serve` / the web and worker processes first."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="the backup: directory, .tar or .tar.gz")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds data"
        )

    def handle(self, *args: Any, path: str, force: bool, **options: Any) -> None:
        from crm.backup.databases import BackupError
        from crm.backup.services import backup_restore

        # Our own connection must not hold the database file while it is replaced.
        connections.close_all()
        try:
            result = backup_restore(path=Path(path), force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        connections.close_all()
        with contextlib.suppress(Exception):  # an older backup may predate the audit tables
            from crm.audit.services import audit_record

            audit_record(
                action="config",
                entity="backup",
                object_repr=Path(path).name,
                actor_name="system",
                changes={"restore": str(path), "rows": result.rows, "files": result.files},
                ip="",
            )
        self.stdout.write(
            self.style.SUCCESS("restored: ")
            + f"{result.tables} tables, {result.rows} rows, {result.files} files"
        )
        for moved in result.moved_aside:
            self.stdout.write(f"  kept the previous copy at {moved}")
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"  {warning}"))
        self.stdout.write(
            "  next: `crm migrate` (if the backup is from an older version), then start the CRM"
        )
