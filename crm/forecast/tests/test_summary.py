"""The summary table follows every write of an opportunity (database triggers), and the
rebuild and the check agree with it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from crm.forecast import summary
from crm.forecast.models import ForecastMonth
from crm.forecast.services import forecast_summary_check, forecast_summary_rebuild
from crm.forecast.tests.helpers import opp, pipeline
from crm.opportunities.models import Opportunity

NOV = dt.date(2026, 11, 1)
DEC = dt.date(2026, 12, 1)


def cells(owner=None) -> dict[tuple, dict[str, int]]:
    """{(owner, pipeline, month): {column: value}} without the zero columns."""
    qs = ForecastMonth.objects.all()
    if owner is not None:
        qs = qs.filter(owner=owner)
    return {
        (c.owner_id, c.pipeline_id, c.month): {
            k: getattr(c, k) for k in summary.SUMS if getattr(c, k)
        }
        for c in qs
    }


def assert_consistent() -> None:
    assert summary.installed()
    assert summary.differences() == 0


def test_insert_update_delete_follow(org):
    rep = org.zhang_wei
    pipe = pipeline()
    a = opp(rep, "100000.50", close=dt.date(2026, 11, 20), probability=40, category="best")
    assert cells(rep) == {
        (rep.pk, pipe.pk, NOV): {
            "best_amount": 10000050,
            "weighted": 10000050 * 40,
            "open_deals": 1,
        }
    }
    opp(rep, 200000, close=dt.date(2026, 11, 3), probability=60, category="commit")
    opp(rep, 7, close=dt.date(2026, 11, 3), probability=60, category="omitted")
    assert cells(rep)[(rep.pk, pipe.pk, NOV)] == {
        "best_amount": 10000050,
        "commit_amount": 20000000,
        "omitted_amount": 700,
        "weighted": 10000050 * 40 + 20000000 * 60,
        "open_deals": 3,
    }
    assert_consistent()

    # Move to another month, category and amount: one cell out, one in.
    Opportunity.objects.filter(pk=a.pk).update(
        expected_close_date=dt.date(2026, 12, 5), forecast_category="commit", amount=Decimal("5")
    )
    assert cells(rep) == {
        (rep.pk, pipe.pk, NOV): {
            "commit_amount": 20000000,
            "omitted_amount": 700,
            "weighted": 20000000 * 60,
            "open_deals": 2,
        },
        (rep.pk, pipe.pk, DEC): {"commit_amount": 500, "weighted": 500 * 40, "open_deals": 1},
    }
    assert_consistent()

    # A field the forecast does not sum: nothing changes.
    Opportunity.objects.filter(pk=a.pk).update(notes="客户要求提前交付")
    assert_consistent()

    # Another owner (a handover): the cell moves to them.
    Opportunity.objects.filter(pk=a.pk).update(owner=org.wang_fang)
    assert (org.wang_fang.pk, pipe.pk, DEC) in cells()
    assert (rep.pk, pipe.pk, DEC) not in cells()
    assert_consistent()

    # Recycle bin, restore, hard delete.
    Opportunity.objects.filter(pk=a.pk).update(deleted_at=timezone.now())
    assert (org.wang_fang.pk, pipe.pk, DEC) not in cells()
    Opportunity.all_objects.filter(pk=a.pk).update(deleted_at=None)
    assert (org.wang_fang.pk, pipe.pk, DEC) in cells()
    Opportunity.all_objects.filter(pk=a.pk).delete()
    assert_consistent()
    assert len(cells()) == 1


def test_won_by_local_month_of_closing(org):
    rep = org.zhang_wei
    pipe = pipeline()
    # 2026-10-31 17:00 UTC is 2026-11-01 01:00 in Shanghai: won in November.
    closed = dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)
    deal = opp(rep, 1000, close=dt.date(2026, 9, 30), probability=70, category="commit")
    Opportunity.objects.filter(pk=deal.pk).update(status="won", closed_at=closed, probability=100)
    assert cells(rep) == {(rep.pk, pipe.pk, NOV): {"won_amount": 100000, "won_deals": 1}}
    assert_consistent()
    # Lost deals and open deals without a date are in no cell.
    Opportunity.objects.filter(pk=deal.pk).update(status="lost")
    opp(rep, 500, close=None)
    assert cells(rep) == {}
    assert_consistent()


def test_rebuild_and_check_repair_drift(org):
    rep = org.zhang_wei
    opp(rep, 1000, close=dt.date(2026, 11, 2))
    opp(rep, 2000, close=dt.date(2026, 12, 2), status="won")
    good = cells()
    ForecastMonth.objects.all().delete()
    ForecastMonth.objects.create(
        owner=rep, pipeline=pipeline(), month=NOV, commit_amount=1, weighted=1, open_deals=1
    )
    assert summary.differences() == 3
    assert forecast_summary_check() == 3
    assert cells() == good
    assert forecast_summary_check() == 0
    assert forecast_summary_rebuild() == 2
    assert cells() == good


def test_lost_triggers_are_reinstalled_after_migrate(org):
    """SQLite rebuilds a table to alter a column and drops its triggers: post_migrate puts
    them back and recomputes what was written meanwhile."""
    from crm.forecast.apps import _summary_ensure

    rep = org.zhang_wei
    summary.uninstall()
    assert not summary.installed()
    opp(rep, 1000, close=dt.date(2026, 11, 2))
    assert cells() == {}
    _summary_ensure(sender=None, using="default")
    assert summary.installed()
    assert_consistent()
    assert len(cells()) == 1


def test_services_keep_the_summary(org):
    """Through the opportunity services (create, move to won, delete) as the app writes."""
    services = pytest.importorskip("crm.opportunities.services")
    from crm.core.recyclebin import record_delete
    from crm.forecast.tests.helpers import customer_for

    rep = org.zhang_wei
    deal = services.opportunity_create(
        actor=rep,
        customer=customer_for(rep),
        data={
            "name": "产线改造",
            "amount": "300000",
            "expected_close_date": dt.date(2026, 11, 15),
            "forecast_category": "best",
        },
    )
    assert_consistent()
    assert sum(c.get("open_deals", 0) for c in cells(rep).values()) == 1
    record_delete(actor=rep, obj=Opportunity.objects.get(pk=deal.pk))
    assert cells(rep) == {}
    assert_consistent()


def test_sqlite_trigger_text_is_stable():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    statements = summary.sqlite_statements()
    assert len(statements) == 3
    assert all("forecast_forecastmonth" in s for s in statements)
