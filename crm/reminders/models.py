"""Reminder rules: a condition (from a registry of condition types) with administrator-set
parameters. This is the first version of the automation mechanism: later a rule gains
field conditions and other actions; the run log and the once-per-occurrence guarantee stay."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel, VersionedModel


class ReminderRule(TimeStampedModel, VersionedModel):
    key = models.SlugField(_("规则键"), max_length=50, unique=True)
    condition = models.CharField(_("条件类型"), max_length=50)
    name = models.CharField(_("名称"), max_length=100)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("提醒规则")

    def __str__(self) -> str:
        return self.name


class ReminderOccurrence(models.Model):
    """One occurrence of a rule's condition, notified once however often the rule runs."""

    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="occurrences")
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "key"], name="occurrence_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.key}"


class RuleRun(models.Model):
    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="runs")
    as_of = models.DateTimeField(_("按此时间运行"))
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    matched = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    notified = models.PositiveIntegerField(default=0)
    deferred_to = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("规则运行记录")

    def __str__(self) -> str:
        return f"{self.rule_id} @ {self.as_of:%Y-%m-%d %H:%M}"
