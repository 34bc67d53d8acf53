"""Backup, verify, restore; the daily scheduled backup with retention; its settings.

`backup_create` takes a consistent snapshot of the database (crm.backup.databases), copies
the attachments and writes a manifest with per-table row counts and checksums.
`backup_verify` restores a backup into a scratch database and compares. `backup_restore`
refuses to overwrite a database that holds data unless forced, restores, and compares
again. The CLI (`crm backup`, `crm restore`), the worker and the backup page call these.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.backup import config
from crm.backup.archive import (
    FORMAT,
    MEDIA,
    SECRETS,
    VERSION,
    files_problems,
    manifest_read,
    manifest_write,
    media_copy,
    opened,
    sha256_file,
    staging,
    tables_problems,
)
from crm.backup.databases import (
    BackupError,
    Database,
    SqliteDatabase,
    current_database,
    sqlite_scratch,
)
from crm.backup.models import BackupKind, BackupRun, BackupStatus
from crm.core.errors import PermissionDenied, ValidationFailed

log = logging.getLogger("crm.backup")

KEY_FILE = "encryption_key"
# Names of scheduled / page backups in the target directory; retention only ever deletes these.
NAME_RE = re.compile(r"^crm-backup-(\d{8})-(\d{6})\.tar\.gz$")
LOCK = ".crm-backup.lock"
LOCK_STALE = 6 * 3600


def _data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _migrations() -> dict[str, str]:
    """The latest applied migration of each app: a restore onto older code is told apart."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    out: dict[str, str] = {}
    with contextlib.suppress(Exception):
        for app, name in MigrationRecorder(connection).applied_migrations():
            if name > out.get(app, ""):
                out[app] = name
    return out


# ----------------------------------------------------------------- backup


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    size: int
    seconds: float

    @property
    def tables(self) -> int:
        return len(self.manifest["tables"])

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.manifest["tables"].values())

    @property
    def files(self) -> int:
        return int(self.manifest["media"]["count"])


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def backup_create(
    *,
    path: Path,
    database: Database | None = None,
    media_root: Path | None = None,
) -> BackupResult:
    """Write a backup to `path` (a new or empty directory, or a .tar / .tar.gz file)."""
    started = time.monotonic()
    database = database or current_database()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    path = Path(path).expanduser().absolute()
    with staging(path) as work:
        db_file = work / database.dump_name
        tables = database.dump(db_file)
        media = media_copy(media_root, work / MEDIA)
        secrets: dict[str, str] = {}
        key = _data_dir() / KEY_FILE
        # A key from the environment is the operator's to keep; a generated one lives in the
        # data directory and without it encrypted fields of the restored data are unreadable.
        if key.is_file() and not os.environ.get("CRM_ENCRYPTION_KEY", "").strip():
            (work / SECRETS).mkdir()
            shutil.copy2(key, work / SECRETS / KEY_FILE)
            secrets[KEY_FILE] = sha256_file(work / SECRETS / KEY_FILE)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": timezone.now().isoformat(),
            "vendor": database.vendor,
            "source": database.label(),
            "database": {
                "file": db_file.name,
                "bytes": db_file.stat().st_size,
                "sha256": sha256_file(db_file),
            },
            "tables": tables,
            "media": media,
            "secrets": secrets,
            "migrations": _migrations(),
        }
        manifest_write(work, manifest)
    return BackupResult(
        path=path, manifest=manifest, size=_size(path), seconds=time.monotonic() - started
    )


# ----------------------------------------------------------------- verify


@dataclass
class VerifyResult:
    ok: bool
    problems: list[str]
    tables: int = 0
    rows: int = 0
    files: int = 0
    vendor: str = ""
    created_at: str = ""


def _scratch_for(vendor: str, database: Database | None) -> Any:
    if vendor == "sqlite":
        return sqlite_scratch()
    current = database or current_database()
    if current.vendor != vendor:
        raise BackupError(
            f"a {vendor} backup can only be verified on a CRM running on {vendor} "
            f"(this one runs on {current.vendor})"
        )
    return current.scratch()


def backup_verify(*, path: Path, database: Database | None = None) -> VerifyResult:
    """Restore the backup into a scratch database and compare counts and checksums with the
    manifest; check every attachment's checksum. Never touches the live database."""
    try:
        with opened(Path(path)) as folder:
            manifest = manifest_read(folder)
            problems = files_problems(folder, manifest)
            expected = manifest.get("tables") or {}
            result = VerifyResult(
                ok=False,
                problems=problems,
                tables=len(expected),
                rows=sum(int(t.get("rows") or 0) for t in expected.values()),
                files=int((manifest.get("media") or {}).get("count") or 0),
                vendor=str(manifest.get("vendor") or ""),
                created_at=str(manifest.get("created_at") or ""),
            )
            db_file = folder / str((manifest.get("database") or {}).get("file") or "-")
            if db_file.is_file():
                with _scratch_for(result.vendor, database) as scratch:
                    try:
                        scratch.restore(db_file)
                        if isinstance(scratch, SqliteDatabase):
                            check = scratch.integrity_check()
                            if check != "ok":
                                problems.append(f"integrity check: {check}")
                        problems += tables_problems(expected, scratch.stats())
                    except (BackupError, sqlite3.DatabaseError) as exc:
                        problems.append(f"the database does not restore: {exc}")
    except BackupError as exc:
        return VerifyResult(ok=False, problems=[str(exc)])
    result.ok = not problems
    return result


# ----------------------------------------------------------------- restore


@dataclass
class RestoreResult:
    tables: int
    rows: int
    files: int
    moved_aside: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _aside(path: Path) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.before-restore-{stamp}")
    os.replace(path, target)
    return target


def backup_restore(
    *,
    path: Path,
    force: bool = False,
    database: Database | None = None,
    media_root: Path | None = None,
) -> RestoreResult:
    """Restore the database and the attachments from a backup.

    Refuses (BackupError) when the backup is damaged, is of another database vendor, or
    when the target database already holds data (or the media directory files) and
    `force` is not given. With `force`, the old attachments are moved aside, not deleted.
    """
    database = database or current_database()
    media_root = Path(media_root or settings.MEDIA_ROOT)
    with opened(Path(path)) as folder:
        manifest = manifest_read(folder)
        vendor = str(manifest.get("vendor") or "")
        if vendor != database.vendor:
            raise BackupError(
                f"this is a {vendor} backup; the target is {database.vendor} ({database.label()})"
            )
        damaged = files_problems(folder, manifest)
        if damaged:
            raise BackupError("the backup is damaged: " + "; ".join(damaged[:5]))
        rows = database.user_rows()
        has_media = media_root.is_dir() and any(p.is_file() for p in media_root.rglob("*"))
        if (rows or has_media) and not force:
            what = []
            if rows:
                what.append(f"{database.label()} holds {rows} rows")
            if has_media:
                what.append(f"{media_root} holds files")
            raise BackupError(
                "refusing to overwrite: "
                + " and ".join(what)
                + "; add --force to replace them (a new installation on which `crm migrate` "
                "or `crm serve` already ran counts as holding data too)"
            )
        result = RestoreResult(
            tables=len(manifest["tables"]),
            rows=sum(int(t["rows"]) for t in manifest["tables"].values()),
            files=int(manifest["media"]["count"]),
        )
        if rows:
            database.clear()
        database.restore(folder / manifest["database"]["file"])
        problems = tables_problems(manifest["tables"], database.stats())
        if problems:
            raise BackupError(
                "restored, but it differs from the backup: " + "; ".join(problems[:5])
            )
        if has_media:
            result.moved_aside.append(str(_aside(media_root)))
        elif media_root.exists():
            shutil.rmtree(media_root)  # no files in it, only (empty) folders
        source = folder / MEDIA
        if source.is_dir():
            shutil.copytree(source, media_root)
        else:
            media_root.mkdir(parents=True)
        result.warnings += _restore_secrets(folder, manifest, result)
    return result


def _restore_secrets(folder: Path, manifest: dict[str, Any], result: RestoreResult) -> list[str]:
    if KEY_FILE not in (manifest.get("secrets") or {}):
        return []
    backup_key = (folder / SECRETS / KEY_FILE).read_text("utf-8").strip()
    env_key = os.environ.get("CRM_ENCRYPTION_KEY", "").strip()
    if env_key:
        if env_key != backup_key:
            return [
                "CRM_ENCRYPTION_KEY differs from the key in the backup: encrypted fields of the "
                f"restored data need the backup's key ({SECRETS}/{KEY_FILE} in the backup)"
            ]
        return []
    target = _data_dir() / KEY_FILE
    if target.is_file():
        if target.read_text("utf-8").strip() == backup_key:
            return []
        result.moved_aside.append(str(_aside(target)))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(backup_key)
    return []


# ----------------------------------------------------------------- scheduled backups


def backup_file_name(now: dt.datetime | None = None) -> str:
    return f"crm-backup-{timezone.localtime(now or timezone.now()):%Y%m%d-%H%M%S}.tar.gz"


@dataclass
class BackupFile:
    path: Path
    at: dt.datetime
    size: int


def backup_files(directory: Path | None = None) -> list[BackupFile]:
    """The backups the schedule wrote into `directory`, newest first."""
    directory = Path(directory or config.target_directory())
    out = []
    if directory.is_dir():
        for path in directory.iterdir():
            m = NAME_RE.match(path.name)
            if not m or not path.is_file():
                continue
            at = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
            out.append(BackupFile(path, timezone.make_aware(at), path.stat().st_size))
    return sorted(out, key=lambda f: f.at, reverse=True)


def backups_prune(*, directory: Path, keep: int) -> list[Path]:
    """Keep the newest backup of each of the `keep` most recent days; delete the others.
    Only files named like the schedule's backups are ever considered."""
    keep = max(int(keep), 1)
    kept_days: list[dt.date] = []
    removed = []
    for f in backup_files(directory):
        day = timezone.localtime(f.at).date()
        if day not in kept_days and len(kept_days) < keep:
            kept_days.append(day)
            continue
        f.path.unlink(missing_ok=True)
        removed.append(f.path)
    return removed


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Any:
    """One backup at a time per directory, across processes (a worker may be slower than
    the schedule's ticks)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if time.time() - lock.stat().st_mtime < LOCK_STALE:
            raise BackupError(f"another backup is running into {directory}") from None
        lock.unlink(missing_ok=True)
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def backup_run(
    *,
    kind: str,
    actor: Any = None,
    directory: Path | None = None,
    path: Path | None = None,
    now: dt.datetime | None = None,
) -> BackupRun:
    """Take a backup and record the result (the page, `crm check`, the audit log).

    Without `path`: into the configured directory under a dated name, then retention
    (keep the newest of each of the last N days). With `path` (the CLI): exactly there,
    no retention.
    """
    from crm.audit.services import audit_record

    if path is not None:
        path = Path(path).expanduser().absolute()
        directory = path.parent
    directory = Path(directory or config.target_directory()).expanduser()
    keep = int(config.schedule().get("keep") or 7)
    # `now` is the scheduler's clock (tests drive it); the duration is measured for real.
    started = now or timezone.now()
    clock = time.monotonic()
    run = BackupRun(kind=kind, started_at=started, actor=actor)
    try:
        with _directory_lock(directory):
            result = backup_create(path=path or directory / backup_file_name(now))
            removed = [] if path is not None else backups_prune(directory=directory, keep=keep)
        run.status = BackupStatus.OK
        run.path = str(result.path)
        run.vendor = str(result.manifest["vendor"])
        run.size = result.size
        run.tables = result.tables
        run.rows = result.rows
        run.files = result.files
        run.pruned = len(removed)
    except Exception as exc:  # reported on the page, by `crm check` and to administrators
        log.exception("backup into %s failed", directory)
        run.status = BackupStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:1000]
    run.finished_at = started + dt.timedelta(seconds=time.monotonic() - clock)
    with transaction.atomic():
        run.save()
        audit_record(
            action="export",
            actor=actor,
            actor_name="" if actor else "system",
            entity="backup",
            object_id=run.pk,
            object_repr=Path(run.path).name if run.path else str(directory),
            changes={
                "kind": kind,
                "status": run.status,
                "rows": run.rows,
                "files": run.files,
                "pruned": run.pruned,
                "error": run.error,
            },
            ip="" if actor is None else None,
        )
        if run.status == BackupStatus.FAILED:
            from crm.backup import events

            events.backup_failed(run)
    return run


def backup_slot(now: dt.datetime) -> dt.datetime | None:
    """The most recent scheduled time at or before `now`; None when the schedule is off."""
    schedule = config.schedule()
    if not schedule.get("enabled"):
        return None
    hour, minute = _parse_time(str(schedule.get("time") or "02:30"))
    local = timezone.localtime(now)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot -= dt.timedelta(days=1)
    return slot


def backup_scheduled(*, now: dt.datetime | None = None) -> BackupRun | None:
    """The periodic check (every few minutes): take the day's backup once its time has come.
    A backup that failed is not retried until the next day's slot (no storm of failures)."""
    now = now or timezone.now()
    slot = backup_slot(now)
    if slot is None:
        return None
    if BackupRun.objects.filter(kind=BackupKind.SCHEDULED, started_at__gte=slot).exists():
        return None
    return backup_run(kind=BackupKind.SCHEDULED, now=now)


# ----------------------------------------------------------------- settings and the page


def _parse_time(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value or "")
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationFailed(_("时间格式应为 02:30"), field="time")
    return int(m.group(1)), int(m.group(2))


def backup_settings_update(
    *,
    actor: Any,
    enabled: bool,
    time_of_day: str,
    keep: int,
    directory: str,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Administrators only (setting_set checks); the directory must be writable now."""
    from crm.access.visibility import is_admin
    from crm.core.config import setting_set

    if not is_admin(actor):
        raise PermissionDenied()
    hour, minute = _parse_time(time_of_day)
    if not 1 <= int(keep) <= 365:
        raise ValidationFailed(_("保留份数应在 1 到 365 之间"), field="keep")
    directory = (directory or "").strip()
    if directory:
        path = Path(directory).expanduser()
        if not path.is_absolute():
            raise ValidationFailed(_("请填写绝对路径，例如 /srv/crm-backups"), field="directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-probe"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise ValidationFailed(
                _("目录不可写：%(e)s") % {"e": exc.strerror or exc}, field="directory"
            ) from exc
    value = {
        "enabled": bool(enabled),
        "time": f"{hour:02d}:{minute:02d}",
        "keep": int(keep),
        "directory": directory,
    }
    return dict(
        setting_set(
            actor=actor, key=config.SCHEDULE, value=value, expected_version=expected_version
        )
    )


def backup_now(*, actor: Any) -> None:
    """Queue a backup for the worker (the backup page's button)."""
    from crm.access.visibility import is_admin
    from crm.backup.tasks import backup_manual_task

    if not is_admin(actor):
        raise PermissionDenied()
    actor_id = actor.pk
    transaction.on_commit(lambda: backup_manual_task.enqueue(actor_id))
