"""Reminder condition "lead_not_contacted": a new lead nobody has contacted within N hours
reminds its owner (the engine in crm.reminders notifies once per lead and assignment)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.notifications.kinds import NotificationKind, kind_register
from crm.reminders.registry import Condition, Occurrence, condition_register


def lead_not_contacted(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """Leads still "new" N hours after they were assigned → the owner (and, optionally,
    the owner's manager)."""
    from crm.leads.models import Lead, LeadStatus

    hours = max(int(params.get("hours") or 24), 1)
    cutoff = now - dt.timedelta(hours=hours)
    qs = (
        Lead.objects.filter(
            status=LeadStatus.NEW,
            owner__isnull=False,
            owner__is_active=True,
            assigned_at__lt=cutoff,
        )
        .select_related("owner", "owner__manager")
        .order_by("pk")
    )
    for lead in qs.iterator(chunk_size=1000):
        assert lead.assigned_at is not None and lead.owner is not None
        waited = int((now - lead.assigned_at).total_seconds() // 3600)
        title = _("新线索「%(name)s」已 %(n)d 小时未联系") % {"name": lead.name, "n": waited}
        occ = Occurrence(
            key=f"{lead.pk}:{lead.assigned_at.isoformat()}",
            users=[lead.owner],
            title=title,
            body=_("%(company)s，来源：%(source)s。越早联系，转化率越高。")
            % {"company": lead.company or lead.name, "source": lead.source or "—"},
            url=reverse("lead_detail", args=[lead.pk]),
        )
        manager = lead.owner.manager
        if params.get("notify_manager") and manager is not None:
            occ.extra_users = [manager]
            occ.extra_title = _("%(owner)s 的新线索「%(name)s」已 %(n)d 小时未联系") % {
                "owner": lead.owner.name,
                "name": lead.name,
                "n": waited,
            }
        yield occ


kind_register(NotificationKind("lead_not_contacted", gettext_lazy("新线索未联系"), ("inapp",)))

condition_register(
    Condition(
        "lead_not_contacted",
        gettext_lazy("新线索 N 小时未联系"),
        "lead_not_contacted",
        {"hours": 24, "notify_manager": False},
        lead_not_contacted,
        gettext_lazy("分配后超过 N 小时仍是“新线索”状态时提醒负责人（可同时提醒其主管）。"),
    )
)
