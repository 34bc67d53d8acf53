from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    """One due slot of a periodic job, enqueued once: the unique key makes the scheduler
    idempotent across restarts and even if two schedulers run by mistake."""

    job = models.CharField(_("任务"), max_length=100)
    slot = models.DateTimeField(_("计划时间"))
    enqueued_at = models.DateTimeField(_("入队时间"), default=timezone.now)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-slot"]
        verbose_name = _("定时任务记录")
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="jobrun_unique_slot")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M}"
