"""The reminder engine: run rules as of a time, once per occurrence, logged, calendar-aware."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.visibility import is_admin
from crm.audit.services import audit_record, diff
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.versioning import save_with_version
from crm.notifications.services import notify
from crm.reminders.calendar import next_working_moment
from crm.reminders.models import ReminderOccurrence, ReminderRule, RuleRun
from crm.reminders.registry import condition_get, condition_list

log = logging.getLogger("crm.reminders")


def rules_ensure() -> list[ReminderRule]:
    """One rule per built-in condition, with its defaults; never overwrites an admin's edit."""
    rules = []
    for condition in condition_list():
        rule, _created = ReminderRule.objects.get_or_create(
            key=condition.key,
            defaults={
                "condition": condition.key,
                "name": str(condition.label),
                "params": condition.defaults,
            },
        )
        rules.append(rule)
    return rules


@dataclass
class RuleResult:
    rule: str
    matched: int = 0
    new: int = 0
    notified: int = 0
    deferred_to: dt.datetime | None = None
    error: str = ""
    samples: list[str] = field(default_factory=list)


def rule_run(
    rule: ReminderRule, *, now: dt.datetime, dry_run: bool = False, actor: Any = None
) -> RuleResult:
    condition = condition_get(rule.condition)
    result = RuleResult(rule.key)
    run = RuleRun.objects.create(
        rule=rule,
        as_of=now,
        dry_run=dry_run,
        triggered_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    deliver_at = next_working_moment(now)
    if deliver_at != now:
        result.deferred_to = deliver_at
    try:
        if condition is None:
            raise ValueError(f"unknown condition {rule.condition}")
        params = {**condition.defaults, **(rule.params or {})}
        for occ in condition.find(now, params):
            result.matched += 1
            if len(result.samples) < 20:
                result.samples.append(occ.title)
            if dry_run:
                if not ReminderOccurrence.objects.filter(rule=rule, key=occ.key).exists():
                    result.new += 1
                continue
            try:
                with transaction.atomic():
                    ReminderOccurrence.objects.create(rule=rule, key=occ.key)
                    result.new += 1
                    if params.get("create_task") and occ.task and occ.users:
                        _rule_task(rule, occ, now)
                    dedupe = f"rule:{rule.key}:{occ.key}"[:200]
                    recipients = [(u, occ.title) for u in occ.users] + [
                        (u, occ.extra_title or occ.title) for u in occ.extra_users
                    ]
                    for user, title in recipients:
                        if notify(
                            user=user,
                            kind=condition.notification_kind,
                            title=title,
                            body=occ.body,
                            url=occ.url,
                            dedupe_key=dedupe,
                            deliver_after=deliver_at,
                            now=now,
                        ):
                            result.notified += 1
            except IntegrityError:
                continue  # this occurrence was already notified: once per occurrence
    except Exception as exc:  # a broken rule is logged and must not stop the others
        log.exception("reminder rule %s failed", rule.key)
        result.error = f"{type(exc).__name__}: {exc}"
    run.matched = result.matched
    run.new = result.new
    run.notified = result.notified
    run.deferred_to = result.deferred_to
    run.error = result.error[:2000]
    run.finished_at = timezone.now()
    run.save()
    return result


def _rule_task(rule: ReminderRule, occ: Any, now: dt.datetime) -> None:
    """A rule may also put a task on the owner's list (due at the next working moment)."""
    from crm.activities.models import Task

    assert occ.task is not None
    Task.objects.create(
        title=str(occ.task["title"])[:200],
        assignee=occ.users[0],
        customer_id=occ.task.get("customer_id"),
        due_at=next_working_moment(now),
        source=f"rule:{rule.key}"[:50],
    )


def rules_run(
    *,
    now: dt.datetime | None = None,
    keys: list[str] | None = None,
    dry_run: bool = False,
    actor: Any = None,
) -> list[RuleResult]:
    """Run the active rules (or the named ones) as of `now`. Idempotent per occurrence."""
    now = now or timezone.now()
    rules_ensure()
    qs = ReminderRule.objects.all()
    if keys:
        qs = qs.filter(key__in=keys)
        missing = set(keys) - set(qs.values_list("key", flat=True))
        if missing:
            raise ValidationFailed(_("未知的规则：%s") % ", ".join(sorted(missing)), field="rule")
    else:
        qs = qs.filter(is_active=True)
    return [rule_run(rule, now=now, dry_run=dry_run, actor=actor) for rule in qs]


@transaction.atomic
def rule_update(
    *,
    actor: Any,
    rule: ReminderRule,
    expected_version: int | None,
    name: str | None = None,
    params: dict | None = None,
    is_active: bool | None = None,
) -> ReminderRule:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改提醒规则"))
    condition = condition_get(rule.condition)
    if condition is None:
        raise NotFound()
    before = {"name": rule.name, "params": rule.params, "is_active": rule.is_active}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed(_("名称不能为空且不超过 100 个字符"), field="name")
        rule.name = name
    if params is not None:
        rule.params = params_clean(condition.defaults, params)
    if is_active is not None:
        rule.is_active = bool(is_active)
    save_with_version(
        rule, expected_version=expected_version, fields=["name", "params", "is_active"]
    )
    changes = diff(before, {"name": rule.name, "params": rule.params, "is_active": rule.is_active})
    if changes:
        audit_record(
            action="config",
            actor=actor,
            entity="reminder_rule",
            object_id=rule.pk,
            object_repr=rule.name,
            changes=changes,
        )
    return rule


def params_clean(defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Validate parameters against the condition's defaults (same keys, same kinds of value)."""
    out: dict[str, Any] = {}
    for key, default in defaults.items():
        value = params.get(key, default)
        field = f"params.{key}"
        if isinstance(default, bool):
            if isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on")
            out[key] = bool(value)
        elif isinstance(default, int):
            try:
                number = int(value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValidationFailed(_("必须是整数"), field=field) from exc
            if number < 0 or number > 10_000_000:
                raise ValidationFailed(_("超出范围"), field=field)
            out[key] = number
        elif isinstance(default, list):
            if isinstance(value, str):
                value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
            if not isinstance(value, list):
                raise ValidationFailed(_("必须是列表"), field=field)
            if key == "festivals":
                clean = []
                for item in value:
                    try:
                        day = dt.date.fromisoformat(str(item[0]))
                        clean.append([day.isoformat(), str(item[1])[:20]])
                    except (ValueError, TypeError, IndexError, KeyError) as exc:
                        raise ValidationFailed(
                            _('节日格式：[日期, 名称]，如 ["2027-02-06", "春节"]'), field=field
                        ) from exc
                out[key] = clean
            else:
                out[key] = [str(v)[:50] for v in value]
        else:
            out[key] = value
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValidationFailed(_("未知参数：%s") % ", ".join(sorted(unknown)), field="params")
    return out
