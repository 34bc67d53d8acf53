"""The record of each backup taken: shown on the backup page and by `crm check`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BackupKind(models.TextChoices):
    SCHEDULED = "scheduled", _("每日自动")
    MANUAL = "manual", _("手动")
    CLI = "cli", _("命令行")


class BackupStatus(models.TextChoices):
    OK = "ok", _("成功")
    FAILED = "failed", _("失败")


class BackupRun(models.Model):
    """Written when a backup has finished (so a snapshot never contains a half-done run)."""

    kind = models.CharField(_("方式"), max_length=20, choices=BackupKind.choices)
    status = models.CharField(_("结果"), max_length=20, choices=BackupStatus.choices)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), default=timezone.now)
    path = models.CharField(_("位置"), max_length=500, blank=True)
    vendor = models.CharField(_("数据库"), max_length=20, blank=True)
    size = models.PositiveBigIntegerField(_("大小"), default=0)
    tables = models.PositiveIntegerField(_("表"), default=0)
    rows = models.PositiveBigIntegerField(_("行数"), default=0)
    files = models.PositiveIntegerField(_("附件"), default=0)
    pruned = models.PositiveIntegerField(_("清理旧备份"), default=0)
    error = models.CharField(_("错误"), max_length=1000, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("备份记录")

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
