"""The stall reminder ("opportunity_stalled") and the high-value test of the reminder rules.

An open opportunity longer in a stage than the stage's time limit reminds its owner once per
stay in that stage; `escalate_after_days` later still in the stage, the owner's manager is
reminded too (once). Moving the opportunity (even back and forth) starts a new stay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.opportunities.models import Opportunity, OpportunityStatus, Stage, StageKind
from crm.opportunities.selectors import high_value_open_amount
from crm.reminders.conditions import HIGH_VALUE_TESTS
from crm.reminders.forms import PARAM_HELP, PARAM_LABELS
from crm.reminders.registry import Condition, Occurrence, condition_register


def opportunity_stalled(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    escalate = int(params.get("escalate_after_days") or 0)
    stages = Stage.objects.filter(
        kind=StageKind.OPEN,
        is_active=True,
        time_limit_days__isnull=False,
        pipeline__is_active=True,
    ).order_by("pk")
    for stage in stages:
        limit = int(stage.time_limit_days or 0)
        if limit <= 0:
            continue
        cutoff = now - dt.timedelta(days=limit)
        qs = (
            Opportunity.objects.filter(
                stage=stage,
                status=OpportunityStatus.OPEN,
                stage_entered_at__lt=cutoff,
                owner__is_active=True,
            )
            .select_related("owner", "owner__manager", "customer")
            .order_by("pk")
        )
        for opp in qs.iterator(chunk_size=1000):
            days = (now - opp.stage_entered_at).days
            url = reverse("opportunity_detail", args=[opp.pk])
            stay = f"{opp.pk}:{stage.pk}:{opp.stage_entered_at.isoformat()}"
            values = {
                "name": opp.name,
                "customer": opp.customer.name,
                "stage": stage.name,
                "n": days,
                "limit": limit,
            }
            yield Occurrence(
                key=stay,
                users=[opp.owner],
                title=_("商机「%(name)s」在「%(stage)s」已停留 %(n)d 天（时限 %(limit)d 天）")
                % values,
                body=_("客户：%(customer)s。推进到下一阶段，或更新预计成交日期。") % values,
                url=url,
                task={"title": _("推进商机「%s」") % opp.name, "customer_id": opp.customer_id},
            )
            manager = opp.owner.manager
            late = now - dt.timedelta(days=limit + escalate)
            if (
                escalate
                and manager is not None
                and manager.is_active
                and opp.stage_entered_at < late
            ):
                yield Occurrence(
                    key=f"{stay}:manager",
                    users=[manager],
                    title=_(
                        "商机「%(name)s」在「%(stage)s」已停留 %(n)d 天，超出时限（负责人：%(owner)s）"
                    )
                    % {**values, "owner": opp.owner.name},
                    body=_("客户：%(customer)s。负责人已于超时当天收到提醒。") % values,
                    url=url,
                )


condition_register(
    Condition(
        "opportunity_stalled",
        gettext_lazy("商机阶段停滞"),
        "opportunity_stalled",
        {"escalate_after_days": 7, "create_task": False},
        opportunity_stalled,
        gettext_lazy(
            "商机在某阶段停留超过该阶段的时限时提醒负责人；再过 N 天（escalate_after_days）"
            "仍未推进，同时提醒负责人的上级（0 表示不提醒上级）。"
        ),
    )
)

PARAM_LABELS.setdefault("escalate_after_days", gettext_lazy("超时后再过几天提醒上级"))
PARAM_HELP.setdefault("escalate_after_days", gettext_lazy("0 表示只提醒负责人"))

if high_value_open_amount not in HIGH_VALUE_TESTS:
    HIGH_VALUE_TESTS.append(high_value_open_amount)
