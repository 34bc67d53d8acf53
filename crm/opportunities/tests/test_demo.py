"""The demo step: opportunities in every stage for the demo reps, with history; idempotent."""

from __future__ import annotations

import pytest

from crm.opportunities.demo import demo_opportunities
from crm.opportunities.models import Opportunity, Pipeline, StageHistory

pytestmark = pytest.mark.django_db


def test_demo_every_stage_with_history_idempotent():
    from crm.customers.demo import demo_customers
    from crm.demo import demo_organisation

    users = demo_organisation()
    demo_customers(users)
    message = demo_opportunities(users)
    assert "created" in message
    pipeline = Pipeline.objects.get(name="新客户")
    used = set(Opportunity.objects.filter(pipeline=pipeline).values_list("stage__name", flat=True))
    assert used == set(pipeline.stages.values_list("name", flat=True))
    for username in ("zhang.wei", "wang.fang", "gao.yang"):
        assert Opportunity.objects.filter(owner__username=username).count() >= 7
    won = Opportunity.objects.filter(status="won", pipeline=pipeline).first()
    assert won is not None and won.closed_at is not None
    assert StageHistory.objects.filter(opportunity=won).count() >= 6
    hist = list(StageHistory.objects.filter(opportunity=won).order_by("at"))
    assert hist[-1].seconds_in_from > 0 and hist[0].at < hist[-1].at
    assert Opportunity.objects.filter(status="lost").exclude(lost_reason="").exists()
    count = Opportunity.objects.count()
    demo_opportunities(users)
    assert Opportunity.objects.count() == count
