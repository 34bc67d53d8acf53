"""Forecast journeys: a manager splits a year's target over the months and saves the grid,
then the forecast shows the attainment with its chart — at desktop and phone width."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def _deals(org: Any) -> None:
    from django.utils import timezone

    from crm.forecast.tests.helpers import opp

    today = timezone.localdate()
    opp(org.zhang_wei, 480_000, close=today, probability=60, category="best")
    opp(org.zhang_wei, 250_000, close=today, probability=90, category="commit")
    opp(org.zhang_wei, 90_000, close=today, status="won")
    opp(org.wang_fang, 700_000, close=today, probability=40)


def test_targets_then_forecast(page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    _deals(e2e_org)
    year = dt.date.today().year
    sign_in(page, e2e_org.li_na)
    page.goto(f"{live_server.url}/forecast/targets/?year={year}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{year} 年销售目标")
    row = page.locator("[data-target-row]").filter(has_text=e2e_org.zhang_wei.name)
    row.get_by_label(f"{e2e_org.zhang_wei.name} 的全年目标").fill("120万")
    row.get_by_role("button", name="均分").click()
    expect(row.get_by_label(f"{e2e_org.zhang_wei.name} {year}-01")).to_have_value("100000")
    expect(row.locator("[data-target-total]")).to_have_text("1,200,000")
    shot(page, "1-targets")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("12 个目标有变化")

    page.goto(f"{live_server.url}/forecast/")
    expect(page.get_by_role("heading", level=1)).to_have_text("销售预测")
    # The chart is drawn (a canvas inside the chart box); 华南's deal is not in 李娜's figures.
    expect(page.locator("[data-forecast-chart] canvas")).to_have_count(1)
    table = page.get_by_role("table")
    expect(table).to_contain_text(e2e_org.zhang_wei.name)
    expect(table).not_to_contain_text("700,000")
    expect(page.locator(".forecast-kpis")).to_contain_text("90,000")
    shot(page, "2-forecast")

    # By month: the table swaps in place and the chart is drawn again.
    page.get_by_label("分组").select_option("month")
    expect(table.get_by_role("columnheader", name="月份")).to_be_visible()
    expect(page.locator("[data-forecast-chart] canvas")).to_have_count(1)
    shot(page, "3-by-month")


def test_rep_sees_his_own_forecast(phone_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    _deals(e2e_org)
    page = phone_page
    sign_in(page, e2e_org.zhang_wei)
    page.goto(f"{live_server.url}/forecast/")
    expect(page.locator("[data-forecast-chart] canvas")).to_have_count(1)
    expect(page.get_by_label("团队")).to_have_count(0)
    expect(page.locator(".forecast-kpis")).to_contain_text("250,000")  # commit
    expect(page.get_by_role("table")).not_to_contain_text("700,000")
    # Nothing wider than the phone but the table's own scroll box.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width
    shot(page, "forecast-phone")
