"""The last backup: on the backup page and in `crm check` (a failed last run, or no success
for too long while the daily schedule is on, is a failure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from crm.backup import config
from crm.backup.models import BackupRun, BackupStatus
from crm.backup.selectors import backup_last_ok_unscoped, backup_last_unscoped
from crm.core.health import Check, health_check_register

# A daily backup that has not succeeded for this long is a problem worth a red line.
TOO_OLD = dt.timedelta(hours=36)


@dataclass
class BackupState:
    last: BackupRun | None
    last_ok: BackupRun | None
    enabled: bool
    time: str
    keep: int
    directory: Path

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.status == BackupStatus.FAILED

    @property
    def stale(self) -> bool:
        """The schedule is on, but the last success is older than TOO_OLD."""
        return bool(
            self.enabled
            and self.last_ok is not None
            and timezone.now() - self.last_ok.finished_at > TOO_OLD
        )

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stale


def backup_state() -> BackupState:
    schedule = config.schedule()
    return BackupState(
        last=backup_last_unscoped(),
        last_ok=backup_last_ok_unscoped(),
        enabled=bool(schedule.get("enabled")),
        time=str(schedule.get("time") or ""),
        keep=int(schedule.get("keep") or 0),
        directory=config.target_directory(),
    )


def _at(run: BackupRun) -> str:
    return timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M")


def backup_check() -> Check:
    """For `crm check` (an operator's terminal: English, like the other checks)."""
    state = backup_state()
    plan = (
        f"daily at {state.time}, keeping {state.keep}, into {state.directory}"
        if state.enabled
        else "scheduled backups are off"
    )
    if state.last is None:
        return Check("backup", True, f"no backup yet; {plan}")
    if state.failed:
        return Check(
            "backup", False, f"last backup failed at {_at(state.last)}: {state.last.error}"
        )
    if state.stale and state.last_ok is not None:
        return Check("backup", False, f"no successful backup since {_at(state.last_ok)}; {plan}")
    size = state.last.size / 1024 / 1024
    return Check(
        "backup", True, f"last backup {_at(state.last)}, {size:.1f} MB: {state.last.path}; {plan}"
    )


health_check_register(backup_check)
