"""The stall reminder: an open opportunity longer in a stage than its time limit reminds the
owner once; escalate_after_days later also the owner's manager; a move starts over. And
the high-value test the no-follow-up rule uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.notifications.models import Notification
from crm.opportunities.models import Opportunity
from crm.opportunities.reminders import opportunity_stalled
from crm.opportunities.selectors import high_value_open_amount
from crm.opportunities.services import opportunity_move
from crm.opportunities.tests.factories import customer, opportunity, stage
from crm.reminders.conditions import HIGH_VALUE_TESTS
from crm.reminders.models import ReminderRule
from crm.reminders.registry import condition_get
from crm.reminders.services import rules_run

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 3, 10, 10, 0, tzinfo=dt.UTC)  # a Wednesday, office hours


def _entered(opp, days: float) -> None:
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=NOW - dt.timedelta(days=days))
    opp.refresh_from_db()


def _titles(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user, kind="opportunity_stalled").values_list(
            "title", flat=True
        )
    )


def test_condition_registered_with_defaults():
    cond = condition_get("opportunity_stalled")
    assert cond is not None
    assert cond.defaults["escalate_after_days"] == 7
    assert cond.notification_kind == "opportunity_stalled"


def test_within_limit_nothing(org):
    opp = opportunity(org.zhang_wei)  # 初步接洽: 14 days
    _entered(opp, 13)
    assert list(opportunity_stalled(NOW, {"escalate_after_days": 7})) == []


def test_owner_then_manager(org):
    opp = opportunity(org.zhang_wei, name="停滞的商机")
    _entered(opp, 15)
    occ = list(opportunity_stalled(NOW, {"escalate_after_days": 7}))
    assert len(occ) == 1 and occ[0].users == [org.zhang_wei]
    assert "停滞的商机" in occ[0].title and "15" in occ[0].title
    _entered(opp, 22)
    occ = list(opportunity_stalled(NOW, {"escalate_after_days": 7}))
    assert [o.users for o in occ] == [[org.zhang_wei], [org.li_na]]
    assert "负责人" in occ[1].title
    # 0 = never the manager.
    assert len(list(opportunity_stalled(NOW, {"escalate_after_days": 0}))) == 1


def test_closed_or_unlimited_stages_ignored(org):
    opp = opportunity(org.zhang_wei)
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("输单"),
        expected_version=None,
        lost_reason="x",
    )
    _entered(opp, 400)
    assert list(opportunity_stalled(NOW, {"escalate_after_days": 1})) == []


def test_rule_runs_once_per_stay_and_again_after_a_move(org):
    opp = opportunity(org.zhang_wei, name="一单", expected_close_date="2027-05-01")
    _entered(opp, 30)
    rules_run(now=NOW, keys=["opportunity_stalled"])
    rules_run(now=NOW, keys=["opportunity_stalled"])
    assert len(_titles(org.zhang_wei)) == 1
    assert len(_titles(org.li_na)) == 1
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("需求确认"),
        expected_version=None,
        checklist=[0],
    )
    _entered(opp, 25)  # 需求确认: 21 days
    rules_run(now=NOW, keys=["opportunity_stalled"])
    assert len(_titles(org.zhang_wei)) == 2
    rule = ReminderRule.objects.get(key="opportunity_stalled")
    assert rule.params["escalate_after_days"] == 7


def test_high_value_hook(org):
    cust = customer(org.zhang_wei)
    assert high_value_open_amount in HIGH_VALUE_TESTS
    assert not high_value_open_amount(cust, Decimal("500000"))
    opportunity(org.zhang_wei, cust, amount=600000)
    assert high_value_open_amount(cust, Decimal("500000"))
    assert not high_value_open_amount(cust, None)


def test_no_follow_up_escalates_for_big_open_deal(org):
    """The no-follow-up rule reminds the manager too when the customer has a big open deal."""
    cust = customer(org.zhang_wei)
    opportunity(org.zhang_wei, cust, amount=800000)
    from crm.customers.models import Customer

    Customer.objects.filter(pk=cust.pk).update(
        last_follow_up_at=timezone.now() - dt.timedelta(days=30)
    )
    rules_run(now=timezone.now(), keys=["no_follow_up"])
    assert Notification.objects.filter(user=org.li_na, kind="no_follow_up").exists()
