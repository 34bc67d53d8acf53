"""Notifications of backups (called from services)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.backup.models import BackupRun
from crm.notifications.kinds import NotificationKind, kind_register
from crm.notifications.services import notify

kind_register(NotificationKind("backup_failed", gettext_lazy("备份失败"), ("inapp", "email")))


def backup_failed(run: BackupRun) -> None:
    """Every administrator hears of a failed backup (in the app and by mail)."""
    from crm.backup.selectors import administrators_unscoped

    for admin in administrators_unscoped():
        notify(
            user=admin,
            kind="backup_failed",
            title=_("备份失败：%(at)s") % {"at": f"{run.finished_at:%Y-%m-%d %H:%M}"},
            body=run.error,
            url=reverse("backup_settings"),
            dedupe_key=f"backup:{run.pk}",
        )
