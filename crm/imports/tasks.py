"""Background work of imports: load the batch by id, call the engine, tell the user. Safe to
retry: the engine refuses a batch that is not in the state the task expects."""

from __future__ import annotations

from django_tasks import task

from crm.imports.services import import_execute, import_notify, import_rollback_execute


@task()
def import_task(batch_id: int, phase: str) -> dict:
    """phase: "dry" (dry run), "run" (import), "resume" (continue after the last chunk)."""
    try:
        batch = import_execute(batch_id, dry_run=phase == "dry", resume=phase == "resume")
    except Exception:
        import_notify(batch_id, phase, failed=True)
        raise
    import_notify(batch_id, phase)
    return {"status": batch.status, "summary": batch.summary or batch.dry_run_summary}


@task()
def import_rollback_task(batch_id: int) -> dict:
    batch = import_rollback_execute(batch_id)
    import_notify(batch_id, "rollback")
    return {"status": batch.status, "rollback": batch.rollback_summary}
