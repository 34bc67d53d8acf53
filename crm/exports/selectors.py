"""Reads of export jobs: each user sees only their own (a file of someone else's export
would show rows through *their* permissions)."""

from __future__ import annotations

from typing import Any

from crm.core.errors import NotFound
from crm.exports.models import ExportJob, ExportStatus


def export_jobs(*, actor: Any, limit: int = 50) -> list[ExportJob]:
    if not getattr(actor, "is_authenticated", False):
        return []
    return list(ExportJob.objects.filter(user_id=actor.pk).order_by("-id")[:limit])


def export_job_get(*, actor: Any, job_id: Any) -> ExportJob:
    try:
        pk = int(job_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    job = ExportJob.objects.filter(pk=pk, user_id=actor.pk).first()
    if job is None:
        raise NotFound()
    return job


def export_jobs_pending(*, actor: Any) -> bool:
    return ExportJob.objects.filter(
        user_id=actor.pk, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    ).exists()
