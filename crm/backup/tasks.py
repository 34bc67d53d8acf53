from __future__ import annotations

from django_tasks import task

from crm.backup.models import BackupKind
from crm.backup.services import backup_run, backup_scheduled


@task()
def backup_scheduled_task() -> dict:
    """Idempotent: the day's backup is taken once (a BackupRun since the slot exists)."""
    run = backup_scheduled()
    return {"status": run.status if run else "not due"}


@task()
def backup_manual_task(actor_id: int) -> dict:
    from crm.access.models import User

    actor = User.objects.filter(pk=actor_id, is_active=True).first()
    run = backup_run(kind=BackupKind.MANUAL, actor=actor)
    return {"status": run.status, "path": run.path}
