"""Forecast arithmetic (weighted, cumulative categories, won by month, targets with the
team fallback) and scope (a rep sees his own, a manager the subtree, 华南 never 华东)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.access.models import FieldRule
from crm.access.visibility import clear_cache
from crm.core.errors import ValidationFailed
from crm.customers.models import CustomerCollaborator
from crm.forecast.models import SalesTarget
from crm.forecast.selectors import (
    Period,
    forecast,
    forecast_owner_scope,
    month_add,
    period_resolve,
)
from crm.forecast.tests.helpers import opp, pipeline

NOV = dt.date(2026, 11, 1)
DEC = dt.date(2026, 12, 1)
PERIOD = Period("custom", (NOV, DEC))


def target(amount, month=NOV, user=None, department=None):
    return SalesTarget.objects.create(
        user=user, department=department, month=month, amount=Decimal(str(amount))
    )


def row(fc, key):
    return next(r for r in fc.rows if r.key == key)


@pytest.fixture
def deals(org):
    """zhang.wei (华东) and wang.fang (华南) deals over November and December."""
    zw, wf = org.zhang_wei, org.wang_fang
    opp(zw, 100_000, close=dt.date(2026, 11, 5), probability=20, category="pipeline")
    opp(zw, 200_000, close=dt.date(2026, 11, 25), probability=60, category="best")
    opp(zw, 300_000, close=dt.date(2026, 12, 10), probability=80, category="commit")
    opp(zw, 999_999, close=dt.date(2026, 12, 11), probability=50, category="omitted")
    opp(zw, 50_000, close=dt.date(2026, 10, 1), status="won")  # won in October: outside
    opp(zw, 70_000, close=dt.date(2026, 11, 2), status="won")
    opp(zw, 40_000, close=dt.date(2026, 11, 3), status="lost")
    opp(zw, 10_000, close=dt.date(2027, 1, 3), probability=90, category="commit")  # outside
    opp(wf, 500_000, close=dt.date(2026, 11, 8), probability=50, category="commit")
    opp(wf, 80_000, close=dt.date(2026, 12, 1), status="won")


def test_weighted_and_categories(org, deals):
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="month")
    nov, dec = fc.rows
    assert nov.figures.open_amount == Decimal("300000.00")
    assert nov.figures.weighted == Decimal("140000.00")  # 100k×20% + 200k×60%
    assert nov.figures.pipeline == Decimal("300000.00")
    assert nov.figures.best == Decimal("200000.00")
    assert nov.figures.commit == Decimal("0.00")
    assert nov.figures.won == Decimal("70000.00")
    assert nov.figures.won_count == 1
    # December: commit counts in best and pipeline; the omitted deal only in open_amount.
    assert dec.figures.open_amount == Decimal("1299999.00")
    assert dec.figures.weighted == Decimal("240000.00")
    assert (dec.figures.pipeline, dec.figures.best, dec.figures.commit) == (
        Decimal("300000.00"),
        Decimal("300000.00"),
        Decimal("300000.00"),
    )
    assert dec.figures.won == 0
    totals = fc.totals
    assert totals.weighted == Decimal("380000.00")
    assert totals.won == Decimal("70000.00")
    assert totals.open_count == 4


def test_weighted_rounds_to_the_fen(org):
    opp(org.zhang_wei, "333.33", close=dt.date(2026, 11, 5), probability=33)
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="month")
    assert fc.totals.weighted == Decimal("110.00")  # 109.9989 → 110.00


def test_won_counts_in_the_month_it_was_won(org):
    # Expected in December, won early on 28 November (local time).
    deal = opp(org.zhang_wei, 60_000, close=dt.date(2026, 12, 20), status="won")
    type(deal).objects.filter(pk=deal.pk).update(
        closed_at=timezone.make_aware(dt.datetime(2026, 11, 28, 16, 0))
    )
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="month")
    assert [r.figures.won for r in fc.rows] == [Decimal("60000.00"), Decimal("0.00")]


def test_rep_sees_only_his_own(org, deals):
    assert forecast_owner_scope(org.zhang_wei) == [org.zhang_wei.pk]
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="owner")
    assert [r.owner_id for r in fc.rows] == [org.zhang_wei.pk]
    assert fc.scope == "own"
    # Asking for a colleague's figures gives nothing, not his.
    other = forecast(actor=org.zhang_wei, period=PERIOD, owner=org.wang_fang.pk)
    assert other.rows == [] and other.totals.open_count == 0
    other = forecast(actor=org.zhang_wei, period=PERIOD, team=org.south.pk)
    assert other.totals.open_count == 0


def test_manager_sees_the_subtree_only(org, deals):
    fc = forecast(actor=org.li_na, period=PERIOD, group="owner")
    assert {r.owner_id for r in fc.rows} == {org.zhang_wei.pk}
    assert fc.totals.open_count == 4
    south = forecast(actor=org.huang_qiang, period=PERIOD, group="owner")
    assert {r.owner_id for r in south.rows} == {org.wang_fang.pk}
    assert south.totals.commit == Decimal("500000.00")
    # 华南's manager asking for a 华东 rep or team: empty.
    assert forecast(actor=org.huang_qiang, period=PERIOD, owner=org.zhang_wei.pk).rows == []
    assert forecast(actor=org.huang_qiang, period=PERIOD, team=org.east.pk).totals.open_count == 0


def test_director_and_all_scopes(org, deals):
    fc = forecast(actor=org.director, period=PERIOD, group="team")
    assert {r.team_id for r in fc.rows} == {org.east.pk, org.south.pk}
    assert fc.totals.open_count == 5
    east = forecast(actor=org.director, period=PERIOD, group="owner", team=org.east.pk)
    assert {r.owner_id for r in east.rows} == {org.zhang_wei.pk}
    for actor in (org.admin, org.liu_yang, org.zhao_min):  # admin, finance, marketing: all
        assert forecast(actor=actor, period=PERIOD).totals.open_count == 5
    # Service has no opportunity grant: nothing.
    assert forecast_owner_scope(org.chen_jing) == []
    assert forecast(actor=org.chen_jing, period=PERIOD).totals.open_count == 0


def test_collaborations_are_not_in_the_forecast(org, deals):
    """A customer collaborator sees a colleague's deal, but it is the colleague's forecast."""
    deal = opp(org.wang_fang, 123_000, close=dt.date(2026, 11, 9))
    CustomerCollaborator.objects.create(customer=deal.customer, user=org.zhang_wei)
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="month")
    assert fc.totals.open_count == 4


def test_pipeline_filter(org, deals):
    renewal = pipeline("续约")
    opp(org.zhang_wei, 400_000, close=dt.date(2026, 11, 9), probability=30, pipe=renewal)
    target(100_000, NOV, user=org.zhang_wei)
    fc = forecast(actor=org.zhang_wei, period=PERIOD, pipeline=renewal.pk, group="month")
    assert fc.totals.open_amount == Decimal("400000.00")
    # Targets are not per pipeline: none against one pipeline's deals.
    assert fc.totals.target is None and fc.totals.attainment is None
    assert forecast(actor=org.zhang_wei, period=PERIOD).totals.target == Decimal("100000.00")
    with pytest.raises(ValidationFailed) as err:
        forecast(actor=org.zhang_wei, period=PERIOD, pipeline=987654)
    assert err.value.field == "pipeline"


def test_person_targets_and_attainment(org, deals):
    target(100_000, NOV, user=org.zhang_wei)
    target(140_000, DEC, user=org.zhang_wei)
    fc = forecast(actor=org.zhang_wei, period=PERIOD, group="owner")
    zw = row(fc, f"owner:{org.zhang_wei.pk}")
    assert zw.figures.target == Decimal("240000.00")
    assert zw.figures.attainment == Decimal("29.2")  # 70,000 / 240,000
    months = forecast(actor=org.zhang_wei, period=PERIOD, group="month")
    assert [r.figures.target for r in months.rows] == [Decimal("100000.00"), Decimal("140000.00")]
    assert [r.figures.attainment for r in months.rows] == [Decimal("70.0"), Decimal("0.0")]


def test_a_person_with_a_target_and_no_deals_is_listed(org, deals):
    rep2 = type(org.zhang_wei).objects.create(
        username="wu.lei", department=org.east, manager=org.li_na
    )
    rep2.roles.set([org.roles["sales_rep"]])
    target(50_000, NOV, user=rep2)
    fc = forecast(actor=org.li_na, period=PERIOD, group="owner")
    assert row(fc, f"owner:{rep2.pk}").figures.target == Decimal("50000.00")
    assert row(fc, f"owner:{rep2.pk}").figures.attainment == Decimal("0.0")


def test_team_target_falls_back_to_members(org, deals):
    target(100_000, NOV, user=org.zhang_wei)
    target(30_000, NOV, user=org.li_na)
    fc = forecast(actor=org.director, period=PERIOD, group="team")
    east = row(fc, f"team:{org.east.pk}")
    assert east.figures.target == Decimal("130000.00")  # no department target: the members'
    # With a department target for November, it stands for the department.
    target(500_000, NOV, department=org.east)
    fc = forecast(actor=org.director, period=PERIOD, group="team")
    east = row(fc, f"team:{org.east.pk}")
    assert east.figures.target == Decimal("500000.00")
    assert east.figures.attainment == Decimal("14.0")  # 70,000 / 500,000
    # The manager sees the same department target; the rep only his own.
    assert forecast(actor=org.li_na, period=PERIOD).totals.target == Decimal("500000.00")
    assert forecast(actor=org.zhang_wei, period=PERIOD).totals.target == Decimal("100000.00")
    # Month by month: December has no department target, and nobody's target.
    months = forecast(actor=org.li_na, period=PERIOD, group="month")
    assert [r.figures.target for r in months.rows] == [Decimal("500000.00"), None]


def test_parent_department_target_covers_its_subtree(org, deals):
    target(100_000, NOV, user=org.zhang_wei)
    target(200_000, NOV, user=org.wang_fang)
    fc = forecast(actor=org.director, period=PERIOD, group="team")
    assert fc.totals.target == Decimal("300000.00")
    target(1_000_000, NOV, department=org.sales)  # 销售中心: the director's whole scope
    fc = forecast(actor=org.director, period=PERIOD, group="team")
    assert fc.totals.target == Decimal("1000000.00")
    # Team rows keep their own: 华东 = its member's, 华南 = its member's.
    assert row(fc, f"team:{org.east.pk}").figures.target == Decimal("100000.00")
    assert row(fc, f"team:{org.south.pk}").figures.target == Decimal("200000.00")
    # 华南's manager does not see the whole centre: his team's figure only.
    assert forecast(actor=org.huang_qiang, period=PERIOD).totals.target == Decimal("200000.00")


def test_amounts_hidden_by_a_field_rule(org, deals):
    FieldRule.objects.create(
        role=org.roles["marketing"], entity="opportunity", field="amount", access="masked"
    )
    clear_cache(org.zhao_min)
    fc = forecast(actor=org.zhao_min, period=PERIOD)
    assert fc.amounts_visible is False
    assert fc.totals.as_dict(amounts=False)["won"] is None
    assert forecast(actor=org.admin, period=PERIOD).amounts_visible is True


@pytest.mark.parametrize(
    ("key", "first", "count"),
    [
        ("this_quarter", dt.date(2026, 10, 1), 3),
        ("next_quarter", dt.date(2027, 1, 1), 3),
        ("this_year", dt.date(2026, 1, 1), 12),
        ("next_12", dt.date(2026, 11, 1), 12),
    ],
)
def test_periods(key, first, count):
    p = period_resolve(period=key, today=dt.date(2026, 11, 22))
    assert p.first == first
    assert len(p.months) == count
    assert p.last == month_add(first, count - 1)


def test_custom_period_checks():
    p = period_resolve(month_from="2026-02", month_to="2026-05")
    assert p.key == "custom" and [m.month for m in p.months] == [2, 3, 4, 5]
    with pytest.raises(ValidationFailed) as err:
        period_resolve(period="custom", month_from="2026-05", month_to="2026-02")
    assert err.value.field == "to"
    with pytest.raises(ValidationFailed):
        period_resolve(period="custom", month_from="2020-01", month_to="2026-01")
    with pytest.raises(ValidationFailed) as err:
        period_resolve(period="custom", month_from="2026-13")
    assert err.value.field == "from"
    with pytest.raises(ValidationFailed):
        period_resolve(period="someday")


def test_scope_matches_visible(org):
    """The forecast's owners are exactly the owners of visible(actor, Opportunity) (no
    shares here), for every role — including a report outside the manager's department."""
    from crm.access.visibility import visible
    from crm.opportunities.models import Opportunity

    User = type(org.zhang_wei)
    outside = User.objects.create(username="remote.rep", department=org.north, manager=org.li_na)
    outside.roles.set([org.roles["sales_rep"]])
    people = [org.admin, org.director, org.li_na, org.zhang_wei, org.huang_qiang, org.wang_fang]
    for person in [*people, outside]:
        opp(person, 1000, close=dt.date(2026, 11, 2))
    for actor in [*people, outside, org.zhao_min, org.chen_jing, org.liu_yang]:
        clear_cache(actor)
        seen = set(visible(actor, Opportunity).values_list("owner_id", flat=True))
        scope = forecast_owner_scope(actor)
        covered = seen if scope is None else {o for o in seen if o in set(scope)}
        assert covered == seen, actor.username
        if scope is not None:
            owners_with_deals = set(Opportunity.objects.values_list("owner_id", flat=True))
            assert set(scope) & owners_with_deals == seen, actor.username
    assert outside.pk in (forecast_owner_scope(org.li_na) or [])
