"""Test data for the forecast: opportunities written straight to the table.

The forecast's summary is kept by database triggers, so it must follow any write — a
service, a queryset update, a plain INSERT. These helpers write rows directly (no stage
rules, no audit) to state exactly the figures a test sums; one test also goes through the
opportunity services (test_summary.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.customers.models import Customer
from crm.opportunities.models import Opportunity, Pipeline, Stage

_seq = itertools.count(1)


def customer_for(owner: Any) -> Customer:
    n = next(_seq)
    return Customer.objects.create(name=f"测试客户{n:04d}号有限公司", owner=owner, created_by=owner)


def pipeline(name: str = "新客户") -> Pipeline:
    """A default pipeline (the migration's; recreated after a transactional test's flush)."""
    found, created = Pipeline.objects.get_or_create(name=name)
    if created:
        for order, (stage, kind, probability) in enumerate(
            [
                ("初步接洽", "open", 10),
                ("商务谈判", "open", 60),
                ("赢单", "won", 100),
                ("输单", "lost", 0),
            ]
        ):
            Stage.objects.create(
                pipeline=found, name=stage, order=order * 10, kind=kind, probability=probability
            )
    return found


def opp(
    owner: Any,
    amount: Any,
    *,
    close: dt.date | None = None,
    probability: int = 50,
    category: str = "pipeline",
    status: str = "open",
    closed_at: dt.datetime | None = None,
    customer: Customer | None = None,
    pipe: Pipeline | None = None,
) -> Opportunity:
    pipe = pipe or pipeline()
    kind = status if status in ("won", "lost") else "open"
    stage = Stage.objects.filter(pipeline=pipe, kind=kind).order_by("order").first()
    assert stage is not None
    if status == "won" and closed_at is None:
        day = close or timezone.localdate()
        closed_at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    return Opportunity.objects.create(
        customer=customer or customer_for(owner),
        name=f"商机{next(_seq)}",
        amount=Decimal(str(amount)),
        expected_close_date=close,
        pipeline=pipe,
        stage=stage,
        probability=probability,
        forecast_category=category,
        status=status,
        closed_at=closed_at,
        owner=owner,
        created_by=owner,
    )
