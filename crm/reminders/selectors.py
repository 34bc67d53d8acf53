"""Reads for the reminder-rule administration pages (administrators only)."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Subquery

from crm.access.visibility import is_admin
from crm.core.errors import NotFound
from crm.reminders.models import ReminderRule, RuleRun


def rule_list(*, actor: Any) -> list[ReminderRule]:
    """All rules, each with `.last_run` (the newest RuleRun or None)."""
    if not is_admin(actor):
        raise NotFound()
    rules = list(ReminderRule.objects.order_by("id"))
    newest = RuleRun.objects.values("rule").annotate(newest=Max("id")).values("newest")
    last = {run.rule_id: run for run in RuleRun.objects.filter(pk__in=Subquery(newest))}
    for rule in rules:
        rule.last_run = last.get(rule.pk)  # type: ignore[attr-defined]
    return rules


def rule_get(*, actor: Any, rule_id: Any) -> ReminderRule:
    if not is_admin(actor):
        raise NotFound()
    rule = ReminderRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound()
    return rule


def run_list(*, actor: Any, limit: int = 50) -> list[RuleRun]:
    """The newest runs, newest first."""
    if not is_admin(actor):
        raise NotFound()
    return list(RuleRun.objects.select_related("rule", "triggered_by").order_by("-id")[:limit])
