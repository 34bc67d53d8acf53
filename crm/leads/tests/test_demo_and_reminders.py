"""`crm demo` leads step (rules by region exactly as the issue says, leads through the rules,
idempotent) and the "new lead not contacted" reminder condition."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.leads.models import AssignmentRule, CaptureForm, Lead, LeadAssignment

pytestmark = pytest.mark.django_db


def test_demo_configures_region_rules_and_leads():
    from crm.demo import demo_organisation
    from crm.leads.demo import demo_leads

    users = demo_organisation()
    out = demo_leads(users)
    assert "leads:" in out
    rules = {r.name: r for r in AssignmentRule.objects.select_related("department")}
    assert {(tuple(r.values), r.department.name, r.strategy) for r in rules.values()} == {
        (("上海", "江苏", "浙江", "安徽"), "华东销售部", "round_robin"),
        (("广东", "广西", "福建", "海南"), "华南销售部", "round_robin"),
        (("北京", "天津", "河北"), "华北销售部", "round_robin"),
    }
    assert 35 <= Lead.objects.count() <= 45
    assert CaptureForm.objects.filter(name="官网咨询表单").exists()
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {"new", "contacted", "qualified", "disqualified", "converted"} <= statuses
    east = {u.pk for u in users.values() if u.department and u.department.name == "华东销售部"}
    for lead in Lead.objects.filter(province__in=["上海", "江苏", "浙江", "安徽"]):
        assert lead.owner_id in east
        first = LeadAssignment.objects.filter(lead=lead).order_by("at", "id").first()
        assert first.rule_name.startswith("华东")
    # Round-robin inside 华东: both reps got leads.
    owners = set(Lead.objects.filter(province="上海").values_list("owner__username", flat=True))
    owners |= set(
        Lead.objects.filter(province__in=["江苏", "浙江"]).values_list("owner__username", flat=True)
    )
    assert {"zhang.wei", "wu.lei"} <= owners
    assert Lead.objects.filter(owner__isnull=True, province__in=["四川", "湖北"]).count() == 2
    # Idempotent.
    count = Lead.all_objects.count()
    demo_leads(users)
    assert Lead.all_objects.count() == count and AssignmentRule.objects.count() == 3


def test_lead_not_contacted_condition(org):
    from crm.leads.conditions import lead_not_contacted
    from crm.leads.services import lead_status_change
    from crm.leads.tests.factories import make_lead

    old = make_lead(org.zhang_wei, name="旧线索")
    fresh = make_lead(org.zhang_wei, name="新线索")
    done = make_lead(org.zhang_wei, name="已联系")
    lead_status_change(actor=org.zhang_wei, lead=done, status="contacted")
    past = timezone.now() - dt.timedelta(hours=30)
    Lead.objects.filter(pk__in=[old.pk, done.pk]).update(assigned_at=past)
    occ = list(lead_not_contacted(timezone.now(), {"hours": 24, "notify_manager": True}))
    assert [o.users for o in occ] == [[org.zhang_wei]]
    assert "旧线索" in occ[0].title and occ[0].url.endswith(f"/leads/{old.pk}/")
    assert occ[0].extra_users == [org.li_na]
    assert fresh.pk != old.pk


def test_condition_is_registered():
    from crm.reminders.registry import condition_get

    cond = condition_get("lead_not_contacted")
    assert cond is not None and cond.defaults["hours"] == 24
