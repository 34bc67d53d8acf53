"""Reads for the backup page and the health check (administrators' business only)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from crm.access.visibility import is_admin
from crm.backup.models import BackupRun, BackupStatus
from crm.core.errors import NotFound


def backup_runs(*, actor: Any, limit: int = 20) -> list[BackupRun]:
    if not is_admin(actor):
        raise NotFound()
    return list(BackupRun.objects.select_related("actor").order_by("-id")[:limit])


def backup_last_unscoped() -> BackupRun | None:
    """The latest backup, for `crm check` (no actor: an operator's command)."""
    return BackupRun.objects.order_by("-id").first()


def backup_last_ok_unscoped() -> BackupRun | None:
    return BackupRun.objects.filter(status=BackupStatus.OK).order_by("-id").first()


def administrators_unscoped() -> list[Any]:
    """Who is told about a failed backup: every active administrator."""
    from crm.access.models import User

    return list(
        User.objects.filter(Q(is_superuser=True) | Q(roles__is_admin=True), is_active=True)
        .distinct()
        .order_by("pk")
    )
