"""`crm backup [PATH]`: a consistent online backup; `crm backup --verify PATH` checks one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.backup.models import BackupKind, BackupStatus


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024:
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PB"


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online snapshot, or pg_dump for PostgreSQL), the "
        "attachments and a manifest of row counts and checksums into PATH: a new directory, "
        "or a .tar / .tar.gz file. Without PATH: <backup directory>/crm-backup-<time>.tar.gz "
        "with the retention of the backup page. --verify PATH restores a backup into a "
        "scratch database and compares; the exit status is 1 when anything differs."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", nargs="?", help="directory, .tar or .tar.gz")
        parser.add_argument(
            "--verify", action="store_true", help="verify the backup at PATH instead"
        )

    def handle(self, *args: Any, path: str | None, verify: bool, **options: Any) -> None:
        if verify:
            if not path:
                raise CommandError("--verify needs the PATH of a backup")
            self._verify(Path(path))
            return
        from crm.backup.services import backup_run

        run = backup_run(kind=BackupKind.CLI, path=Path(path) if path else None)
        if run.status != BackupStatus.OK:
            raise CommandError(f"backup failed: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(f"backup written: {run.path}")
            + f"\n  {run.vendor}, {run.tables} tables, {run.rows} rows, {run.files} files, "
            f"{_size(run.size)}, {run.duration:.1f} s"
            + (f"\n  removed {run.pruned} old backups (retention)" if run.pruned else "")
        )

    def _verify(self, path: Path) -> None:
        from crm.backup.services import backup_verify

        result = backup_verify(path=path)
        for problem in result.problems:
            self.stderr.write(f"  {problem}")
        summary = (
            f"{result.vendor} backup of {result.created_at or '?'}: {result.tables} tables, "
            f"{result.rows} rows, {result.files} files"
        )
        if not result.ok:
            raise CommandError(f"verify FAILED ({len(result.problems)} problems): {summary}")
        self.stdout.write(
            self.style.SUCCESS("verify ok: ")
            + summary
            + " (restored into a scratch database: identical)"
        )
