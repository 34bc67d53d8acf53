from __future__ import annotations

from django_tasks import task

from crm.exports.services import export_job_run, exports_prune


@task()
def export_job_run_task(job_id: int) -> dict:
    """Idempotent: a job that is done (or failed) is not run again."""
    job = export_job_run(job_id=job_id)
    return {"status": job.status if job else "missing", "rows": job.rows if job else 0}


@task()
def exports_prune_task() -> int:
    return exports_prune()
