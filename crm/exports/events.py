"""Notifications of background exports (called from services)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.exports.models import ExportJob
from crm.notifications.kinds import NotificationKind, kind_register
from crm.notifications.services import notify

kind_register(NotificationKind("export_ready", gettext_lazy("导出完成"), ("inapp",)))


def export_ready(job: ExportJob) -> None:
    notify(
        user=job.user,
        kind="export_ready",
        title=_("导出完成：%(name)s（%(n)d 行）") % {"name": job.file_name, "n": job.rows},
        body=_("文件保留 7 天，请及时下载。"),
        url=reverse("export_job_list"),
        dedupe_key=f"export:{job.pk}",
    )


def export_failed(job: ExportJob) -> None:
    notify(
        user=job.user,
        kind="export_ready",
        title=_("导出失败：%(name)s") % {"name": job.file_name},
        body=job.error,
        url=reverse("export_job_list"),
        dedupe_key=f"export:{job.pk}",
    )
