"""Exports too big to stream: prepared by the worker, offered for download when done."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel (.xlsx)"
    CSV = "csv", "CSV"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("正在导出")
    DONE = "done", _("可下载")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


class ExportJob(models.Model):
    """One background export: who asked, which list with which filters, and the file.

    Housekeeping, not a domain record: the file is removed after a few days (status
    expired), the row stays as history next to its audit entry.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_jobs",
        verbose_name=_("导出人"),
    )
    entity = models.CharField(_("对象"), max_length=50)
    format = models.CharField(_("格式"), max_length=10, choices=ExportFormat.choices)
    # The list's query string as {key: [values]} (filters and sort; no paging).
    params = models.JSONField(_("筛选条件"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows = models.PositiveIntegerField(_("行数"), default=0)
    expected_rows = models.PositiveIntegerField(_("预计行数"), default=0)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    # Relative to <data dir>/exports; never served by the web server directly.
    file_path = models.CharField(max_length=300, blank=True, editable=False)
    size = models.PositiveBigIntegerField(_("大小"), default=0)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("导出任务")
        indexes = [models.Index(fields=["user", "-id"], name="exportjob_user")]

    def __str__(self) -> str:
        return f"{self.entity} {self.format} #{self.pk}"
