"""Template helpers of follow-ups and tasks (timeline details, open tasks, due labels)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def can_log_followup(user: Any) -> bool:
    from crm.access.visibility import can

    return bool(getattr(user, "is_authenticated", False)) and can(user, "create", "followup")


@register.simple_tag
def timeline_activity(rows: list[dict[str, Any]], user: Any) -> list[dict[str, Any]]:
    """The timeline rows with their follow-up (content, attachments) or task attached, in two or
    three queries for the page. A follow-up the T+1 rule hides from this user is left out."""
    from crm.activities.selectors import followups_by_ids, t1_hides, tasks_by_ids

    fids = [r["event"].ref_id for r in rows if r["event"].ref_entity == "followup"]
    tids = [r["event"].ref_id for r in rows if r["event"].ref_entity == "task"]
    followups = followups_by_ids(actor=user, ids=fids) if fids else {}
    tasks = tasks_by_ids(actor=user, ids=tids) if tids else {}
    labels: dict[str, Any] | None = None
    out = []
    for row in rows:
        event = row["event"]
        if event.ref_entity == "followup" and str(event.ref_id).isdigit():
            followup = followups.get(int(event.ref_id))
            data = event.data or {}
            hidden = followup is None and "followup_kind" in data
            if hidden and t1_hides(user, event.actor_id, event.at):
                continue
            row = {**row, "followup": followup, "fdata": data}
            if "followup_kind" in data:
                if labels is None:
                    from crm.activities.config import BUILTIN_KINDS, followup_kinds

                    labels = dict(followup_kinds())
                key = str(data["followup_kind"])
                row["followup_kind_label"] = labels.get(key) or BUILTIN_KINDS.get(key, key)
        elif event.ref_entity == "task" and str(event.ref_id).isdigit():
            row = {**row, "task": tasks.get(int(event.ref_id))}
        out.append(row)
    return out


@register.simple_tag
def customer_open_tasks(user: Any, customer: Any) -> list[Any]:
    from crm.access.visibility import can

    if not can(user, "view", "task"):
        return []
    from crm.activities.selectors import customer_open_tasks as open_tasks

    return open_tasks(actor=user, customer_id=customer.pk)


@register.filter
def due_label(value: dt.datetime | None) -> str:
    """今天 14:00 / 明天 09:00 / 逾期 3 天 / 2027-01-08 09:00."""
    if value is None:
        return _("无截止时间")
    local = timezone.localtime(value)
    now = timezone.localtime()
    days = (local.date() - now.date()).days
    hm = local.strftime("%H:%M")
    if days == 0:
        return _("今天 %s") % hm
    if days == 1:
        return _("明天 %s") % hm
    if days == -1:
        return _("昨天 %s") % hm
    if days < 0:
        return _("逾期 %(n)d 天") % {"n": -days}
    if days < 7:
        return _("%(n)d 天后") % {"n": days}
    return local.strftime("%Y-%m-%d %H:%M")


@register.filter
def is_overdue(value: dt.datetime | None) -> bool:
    return value is not None and value < timezone.now()


@register.filter
def filesize(value: int) -> str:
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.1f} MB"
    return f"{max(1, value // 1024)} KB"
