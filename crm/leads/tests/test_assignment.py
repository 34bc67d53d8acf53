"""Assignment rules: matching, every strategy, order, skipping, fallback, the log."""

from __future__ import annotations

import pytest

from crm.access.tests.factories import UserFactory
from crm.core.config import setting_set
from crm.leads import config
from crm.leads.assignment import assignment_decide, rule_matches, team_members
from crm.leads.models import AssignmentRule, LeadAssignment, RuleMatch, RuleStrategy
from crm.leads.services import assignment_preview, lead_create
from crm.leads.tests.factories import make_lead, make_rule

pytestmark = pytest.mark.django_db


def _web_lead(**data):
    values = {"name": "访客", "mobile": "13912345678"}
    values.update(data)
    return lead_create(actor=None, data=values, system=True)


@pytest.fixture
def east_team(org):
    """华东: li.na (manager), zhang.wei and a second rep."""
    second = UserFactory(
        username="wu.lei", department=org.east, manager=org.li_na, roles=[org.roles["sales_rep"]]
    )
    return org, [org.zhang_wei, second]


@pytest.mark.parametrize(
    ("match", "values", "lead", "expected"),
    [
        (RuleMatch.REGION, ["上海", "江苏"], {"province": "上海"}, True),
        (RuleMatch.REGION, ["上海", "江苏"], {"province": "江苏省"}, True),
        (RuleMatch.REGION, ["江苏"], {"province": "", "city": "苏州市"}, True),
        (RuleMatch.REGION, ["上海"], {"province": "广东"}, False),
        (RuleMatch.REGION, ["上海"], {"province": ""}, False),
        (RuleMatch.INDUSTRY, ["汽车"], {"industry": "汽车零部件制造"}, True),
        (RuleMatch.INDUSTRY, ["医疗"], {"industry": "汽车零部件"}, False),
        (RuleMatch.SOURCE, ["展会"], {"source": "展会"}, True),
        (RuleMatch.SOURCE, ["展会"], {"source": "官网表单"}, False),
        (RuleMatch.ANY, [], {}, True),
    ],
)
def test_rule_matches(match, values, lead, expected):
    rule = AssignmentRule(name="r", match=match, values=values, strategy=RuleStrategy.USER)
    assert rule_matches(rule, lead) is expected


def test_team_members_are_active_reps_of_the_subtree(east_team):
    org, reps = east_team
    inactive = UserFactory(
        username="gone", department=org.east, roles=[org.roles["sales_rep"]], is_active=False
    )
    members = team_members(org.east)
    assert members == sorted(reps, key=lambda u: u.pk)
    assert inactive not in members and org.li_na not in members
    # The whole sales centre: its sub-departments' reps too.
    assert set(team_members(org.sales)) >= {org.zhang_wei, org.wang_fang}


def test_team_without_reps_falls_back_to_its_managers(org):
    assert team_members(org.north) == []
    boss = UserFactory(username="ma.li", department=org.north, roles=[org.roles["sales_manager"]])
    assert team_members(org.north) == [boss]


def test_round_robin_deals_in_turn_and_wraps(east_team):
    org, reps = east_team
    make_rule("华东", values=["上海"], department=org.east)
    owners = [_web_lead(province="上海", mobile=f"1390000000{i}").owner for i in range(5)]
    first, second = sorted(reps, key=lambda u: u.pk)
    assert owners == [first, second, first, second, first]
    assert AssignmentRule.objects.get().last_user_id == first.pk


def test_round_robin_cursor_survives_a_member_leaving(east_team):
    org, reps = east_team
    first, second = sorted(reps, key=lambda u: u.pk)
    rule = make_rule("华东", values=["上海"], department=org.east)
    rule.last_user_id = first.pk
    rule.save()
    second.is_active = False
    second.save()
    assert _web_lead(province="上海").owner == first


def test_least_loaded_picks_the_member_with_fewest_open_leads(east_team):
    org, reps = east_team
    busy, free = reps
    make_lead(busy)
    make_lead(busy)
    make_lead(free)
    make_rule("最少", match=RuleMatch.ANY, strategy=RuleStrategy.LEAST_LOADED, department=org.east)
    lead = _web_lead()
    assert lead.owner == free
    entry = LeadAssignment.objects.filter(lead=lead).get()
    assert "1 条" in entry.reason
    # Closed leads do not count as load.
    from crm.leads.services import lead_status_change

    for lead_ in list(busy.owned_leads.all()):
        lead_status_change(actor=busy, lead=lead_, status="disqualified", reason="没有需求")
    assert _web_lead(mobile="13912340000").owner == busy


def test_fixed_user_strategy(org):
    make_rule("展会", match=RuleMatch.SOURCE, values=["展会"], strategy="user", user=org.wang_fang)
    assert _web_lead(source="展会").owner == org.wang_fang


def test_rules_are_tried_in_order_first_match_wins(org):
    make_rule("二", match=RuleMatch.ANY, strategy="user", user=org.wang_fang, order=20)
    make_rule("一", values=["广东"], strategy="user", user=org.zhang_wei, order=10)
    assert _web_lead(province="广东").owner == org.zhang_wei
    assert _web_lead(province="四川", mobile="13912340001").owner == org.wang_fang


def test_inactive_rules_are_ignored(org):
    make_rule("停用", match=RuleMatch.ANY, strategy="user", user=org.zhang_wei, is_active=False)
    assert _web_lead().owner is None


def test_matching_rule_with_nobody_available_is_skipped(org):
    make_rule("华北", values=["北京"], department=org.north, order=1)
    make_rule("兜底", match=RuleMatch.ANY, strategy="user", user=org.wang_fang, order=2)
    lead = _web_lead(province="北京")
    assert lead.owner == org.wang_fang
    entry = LeadAssignment.objects.get(lead=lead)
    assert entry.rule_name == "兜底"
    assert "华北" in entry.reason and "跳过" in entry.reason


def test_no_rule_matches_lead_goes_to_the_pool_and_is_logged(org):
    make_rule("华东", values=["上海"], department=org.east)
    lead = _web_lead(province="四川")
    assert lead.owner is None
    entry = LeadAssignment.objects.get(lead=lead)
    assert entry.user is None and entry.rule is None and "线索池" in entry.reason


def test_fallback_user_when_no_rule_matches(org):
    setting_set(actor=org.admin, key=config.ASSIGNMENT, value={"fallback_user_id": org.li_na.pk})
    lead = _web_lead(province="四川")
    assert lead.owner == org.li_na
    assert "默认负责人" in LeadAssignment.objects.get(lead=lead).reason


def test_inactive_fallback_user_means_pool(org):
    setting_set(actor=org.admin, key=config.ASSIGNMENT, value={"fallback_user_id": org.li_na.pk})
    org.li_na.is_active = False
    org.li_na.save()
    assert _web_lead().owner is None


def test_every_assignment_logs_its_rule(east_team):
    org, _reps = east_team
    rule = make_rule("华东线索", values=["浙江"], department=org.east)
    lead = _web_lead(province="浙江省")
    entry = LeadAssignment.objects.get(lead=lead)
    assert entry.rule == rule and entry.rule_name == "华东线索"
    assert entry.user == lead.owner
    assert "浙江" in entry.reason and "轮流" in entry.reason
    rule.delete()
    entry.refresh_from_db()
    assert entry.rule is None and entry.rule_name == "华东线索"


def test_preview_changes_nothing(east_team):
    org, reps = east_team
    rule = make_rule("华东", values=["上海"], department=org.east)
    d1 = assignment_preview(actor=org.admin, data={"province": "上海市"})
    d2 = assignment_preview(actor=org.admin, data={"province": "上海"})
    assert d1.rule == rule and d1.user == d2.user == min(reps, key=lambda u: u.pk)
    rule.refresh_from_db()
    assert rule.last_user_id is None
    nothing = assignment_decide({"province": "西藏"}, commit=False)
    assert nothing.user is None and nothing.rule is None


def test_preview_is_for_administrators(org):
    from crm.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        assignment_preview(actor=org.li_na, data={})
