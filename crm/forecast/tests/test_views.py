"""The forecast page and the target grid: wiring, scope, the chart data, no inline script,
and saving a grid (errors keep what was typed)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from crm.forecast.models import SalesTarget
from crm.forecast.tests.helpers import opp

CUSTOM = {"period": "custom", "month_from": "2026-11", "month_to": "2026-12"}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def deals(org):
    opp(org.zhang_wei, 100_000, close=dt.date(2026, 11, 5), probability=20)
    opp(org.zhang_wei, 70_000, close=dt.date(2026, 11, 2), status="won")
    opp(org.wang_fang, 500_000, close=dt.date(2026, 11, 8), probability=50, category="commit")
    SalesTarget.objects.create(user=org.zhang_wei, month=dt.date(2026, 11, 1), amount=100_000)


def _no_inline_script(html: str) -> None:
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_rep_page(org, deals):
    response = client_for(org.zhang_wei).get("/forecast/", CUSTOM)
    assert response.status_code == 200
    html = response.content.decode()
    _no_inline_script(html)
    assert "vendor/echarts/echarts.common.min.js" in html
    assert "crm/forecast.js" in html
    # By month for a rep; 华南's deal is not there.
    assert "2026-11" in html and "500,000" not in html
    assert "70.0%" in html  # 70,000 won of a 100,000 target
    data = json.loads(re.search(r'id="forecast-chart-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert data["months"] == ["2026-11", "2026-12"]
    won = next(s for s in data["series"] if s["key"] == "won")
    assert won["data"] == [70000.0, 0.0]
    # A rep has no team/owner filters and no target link.
    assert 'name="team"' not in html and 'name="owner"' not in html
    assert "/forecast/targets/" not in html


def test_manager_and_director_pages(org, deals):
    html = client_for(org.li_na).get("/forecast/", CUSTOM).content.decode()
    assert "zhang.wei" in html or "用户" in html
    assert "500,000" not in html
    assert "/forecast/targets/" in html
    director = client_for(org.director).get("/forecast/", CUSTOM).content.decode()
    assert "华东销售部" in director and "华南销售部" in director  # default: by team
    by_owner = client_for(org.director).get("/forecast/", {**CUSTOM, "group": "owner"})
    assert by_owner.status_code == 200
    assert "500,000" in by_owner.content.decode()


def test_htmx_swaps_the_results_only(org, deals):
    response = client_for(org.li_na).get(
        "/forecast/", CUSTOM, headers={"HX-Request": "true", "HX-Target": "forecast-results"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "forecast-chart-data" in html


def test_bad_period_is_shown_not_a_crash(org):
    response = client_for(org.zhang_wei).get(
        "/forecast/", {"period": "custom", "month_from": "2026-12", "month_to": "2026-01"}
    )
    assert response.status_code == 400
    assert "结束月份不能早于开始月份" in response.content.decode()


def test_amounts_hidden_page(org, deals):
    from crm.access.models import FieldRule

    FieldRule.objects.create(
        role=org.roles["marketing"], entity="opportunity", field="amount", access="hidden"
    )
    html = client_for(org.zhao_min).get("/forecast/", CUSTOM).content.decode()
    assert "****" in html and "500,000" not in html and "forecast-chart-data" not in html


def test_targets_page_for_managers_only(org):
    assert client_for(org.zhang_wei).get("/forecast/targets/").status_code == 404
    response = client_for(org.li_na).get("/forecast/targets/", {"year": 2026})
    assert response.status_code == 200
    html = response.content.decode()
    _no_inline_script(html)
    assert f'name="t-u{org.zhang_wei.pk}-1"' in html
    assert f'name="t-d{org.east.pk}-1"' in html
    assert f'name="t-u{org.li_na.pk}-1"' not in html  # not her own
    assert f'name="t-u{org.wang_fang.pk}-1"' not in html  # not 华南


def test_targets_grid_save(org):
    c = client_for(org.li_na)
    zw = org.zhang_wei.pk
    response = c.post(
        "/forecast/targets/",
        {"year": "2026", f"t-u{zw}-1": "12万", f"t-u{zw}-2": "", f"t-d{org.east.pk}-1": "300000"},
    )
    assert response.status_code == 302
    assert SalesTarget.objects.get(user_id=zw).amount == Decimal("120000")
    assert SalesTarget.objects.get(department=org.east).amount == Decimal("300000")
    # A bad cell: 400, nothing saved, the typed text kept and the cell marked.
    response = c.post(
        "/forecast/targets/", {"year": "2026", f"t-u{zw}-1": "13万", f"t-u{zw}-2": "abc"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="abc"' in html and "is-invalid" in html and 'value="13万"' in html
    assert SalesTarget.objects.get(user_id=zw).amount == Decimal("120000")
    # Someone out of reach: refused.
    response = c.post("/forecast/targets/", {"year": "2026", f"t-u{org.wang_fang.pk}-1": "1"})
    assert response.status_code == 400
    assert not SalesTarget.objects.filter(user=org.wang_fang).exists()


def test_nav_entries(org):
    html = client_for(org.li_na).get("/").content.decode()
    assert 'href="/forecast/"' in html and 'href="/forecast/targets/"' in html
    html = client_for(org.zhang_wei).get("/").content.decode()
    assert 'href="/forecast/"' in html and 'href="/forecast/targets/"' not in html
    html = client_for(org.chen_jing).get("/").content.decode()
    assert 'href="/forecast/"' not in html
