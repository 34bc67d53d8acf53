"""Opportunity journeys: drag a card across stages on the kanban (refused, then accepted after
filling the required field and ticking the checklist in the dialog), the detail page's stage
bar, and the board at phone width (stage tabs, one column a screen, the card's 移动 button)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

COMPANY = "杭州海康威视数字技术股份有限公司"


def _deal(owner: Any, name: str = "海康视觉检测线项目", **data: Any) -> Any:
    from crm.customers.services import contact_create, customer_create
    from crm.opportunities.services import opportunity_create, pipelines_ensure

    pipelines_ensure()  # a transactional test database was flushed after the previous test
    customer = customer_create(actor=owner, data={"name": COMPANY, "province": "浙江"})
    contact_create(actor=owner, customer=customer, data={"name": "王建国", "title": "设备部经理"})
    return opportunity_create(
        actor=owner, customer=customer, data={"name": name, "amount": "386000", **data}
    )


def _more(owner: Any, customer: Any, names: list[tuple[str, str, str]]) -> None:
    """A few more cards in several stages (created in place, with what each stage needs)."""
    from crm.customers.models import Contact
    from crm.opportunities.models import Stage
    from crm.opportunities.services import opportunity_create

    person = Contact.objects.filter(customer=customer).first()
    for name, stage, amount in names:
        opportunity_create(
            actor=owner,
            customer=customer,
            data={
                "name": name,
                "amount": amount,
                "expected_close_date": "2027-06-30",
                "stage": Stage.objects.get(pipeline__name="新客户", name=stage),
            },
            contacts=[(person, "决策人")],
        )


@pytest.fixture
def phone390(
    request: pytest.FixtureRequest, browser: Any, artifacts_dir: Any, live_server: Any
) -> Iterator[Any]:
    """A 390 px wide phone (the brief's phone width)."""
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.crm_device = "phone390"
    try:
        yield page
    finally:
        context.close()


def _column(page: Any, stage: str) -> Any:
    return page.get_by_role("region", name=stage, exact=True)


def _card(page: Any, name: str) -> Any:
    return page.locator("article.kanban-card").filter(has_text=name)


def test_drag_refused_then_accepted(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    page = desktop_page
    deal = _deal(e2e_org.zhang_wei)
    _more(
        e2e_org.zhang_wei,
        deal.customer,
        [("海康仓储二期", "方案报价", "1280000"), ("海康备件框架协议", "商务谈判", "96000")],
    )
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/opportunities/kanban/")
    card = _card(page, "海康视觉检测线项目")
    expect(_column(page, "初步接洽")).to_contain_text("海康视觉检测线项目")
    expect(_column(page, "方案报价")).to_contain_text("¥128万")
    shot(page, "1-board")

    # Drag to 需求确认: refused (no expected close date, checklist not ticked).
    card.drag_to(_column(page, "需求确认").locator(".kanban-cards"))
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="移到「需求确认」")).to_be_visible()
    expect(dialog).to_contain_text("进入「需求确认」需要填写预计成交日期")
    expect(dialog).to_contain_text("确认客户联系人和采购意向")
    # The card went back where it was.
    expect(_column(page, "初步接洽")).to_contain_text("海康视觉检测线项目")
    expect(_column(page, "需求确认")).not_to_contain_text("海康视觉检测线项目")
    shot(page, "2-refused")

    # Fill what is missing in the dialog: the move is retried and accepted.
    dialog.get_by_label("预计成交日期").fill("2027-06-30")
    dialog.get_by_label("初步接洽：确认客户联系人和采购意向").check()
    dialog.get_by_role("button", name="填好了，移到「需求确认」").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(_column(page, "需求确认")).to_contain_text("海康视觉检测线项目")
    expect(_column(page, "初步接洽")).not_to_contain_text("海康视觉检测线项目")
    expect(page.locator("#col-head-" + str(_stage_id("需求确认")))).to_contain_text("1")
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    shot(page, "3-accepted")
    deal.refresh_from_db()
    assert deal.stage.name == "需求确认"
    assert str(deal.expected_close_date) == "2027-06-30"

    # Back is always allowed, straight from the drag.
    with page.expect_response(lambda r: "/move/" in r.url):
        _card(page, "海康视觉检测线项目").drag_to(
            _column(page, "初步接洽").locator(".kanban-cards")
        )
    expect(_column(page, "初步接洽")).to_contain_text("海康视觉检测线项目")
    expect(page.get_by_role("dialog")).to_be_hidden()
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"

    # The detail page shows the history and the stage bar.
    page.get_by_role("link", name="海康视觉检测线项目", exact=True).click()
    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    history = page.get_by_role("region", name="阶段历史")
    expect(history).to_contain_text("需求确认 → 初步接洽")
    shot(page, "4-detail")


def _stage_id(name: str) -> int:
    from crm.opportunities.models import Stage

    return Stage.objects.get(pipeline__name="新客户", name=name).pk


def test_detail_stage_bar_asks_for_lost_reason(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    page = desktop_page
    deal = _deal(e2e_org.zhang_wei)
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + f"/opportunities/{deal.pk}/")
    page.get_by_role("button", name=re.compile(r"移到\s*输单")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("请填写输单原因")
    dialog.get_by_label("输单原因").fill("客户预算取消")
    dialog.get_by_role("button", name="填好了，移到「输单」").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("输单")
    expect(page.get_by_role("region", name="商机信息")).to_contain_text("客户预算取消")
    shot(page, "lost")


def test_kanban_at_phone_width(phone390: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = phone390
    deal = _deal(e2e_org.zhang_wei, expected_close_date="2027-05-31")
    _more(
        e2e_org.zhang_wei,
        deal.customer,
        [("海康仓储二期", "方案报价", "1280000"), ("海康备件框架协议", "商务谈判", "96000")],
    )
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/opportunities/kanban/")
    tabs = page.get_by_role("navigation", name="阶段")
    expect(tabs).to_be_visible()
    board = page.locator("[data-kanban]")
    # The columns scroll sideways inside the board; the page itself does not get wider.
    assert board.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 390")
    shot(page, "1-board")

    # A stage tab brings its column into view.
    tabs.get_by_role("link", name=re.compile("商务谈判")).click()
    expect(_column(page, "商务谈判")).to_be_in_viewport()
    # Smooth scrolling ends with the column at the left edge.
    page.wait_for_function(
        "() => { const r = document.querySelector('#col-" + str(_stage_id("商务谈判")) + "')"
        ".getBoundingClientRect(); return r.left >= 0 && r.left < 24; }"
    )
    expect(_column(page, "商务谈判")).to_contain_text("海康备件框架协议")
    shot(page, "2-tab")

    # The card's 移动 button: choose a stage, fill what is missing, done — no dragging needed.
    tabs.get_by_role("link", name=re.compile("初步接洽")).click()
    _card(page, "海康视觉检测线项目").get_by_role("link", name=re.compile("移动")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="移动到阶段")).to_be_visible()
    dialog.get_by_role("button", name=re.compile("^需求确认")).click()
    expect(dialog).to_contain_text("确认客户联系人和采购意向")
    shot(page, "3-dialog")
    dialog.get_by_label("初步接洽：确认客户联系人和采购意向").check()
    dialog.get_by_role("button", name="填好了，移到「需求确认」").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(_column(page, "需求确认")).to_contain_text("海康视觉检测线项目")
    deal.refresh_from_db()
    assert deal.stage.name == "需求确认"
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    shot(page, "4-moved")

    # The list at phone width: rows become cards, totals on top.
    page.goto(live_server.url + "/opportunities/")
    expect(page.locator(".opp-totals")).to_contain_text("¥1,762,000.00")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 390")
    shot(page, "5-list")

    # The detail page at phone width.
    page.goto(live_server.url + f"/opportunities/{deal.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("海康视觉检测线项目")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 390")
    shot(page, "6-detail")


def test_list_and_customer_360(desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = desktop_page
    deal = _deal(e2e_org.zhang_wei)
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/opportunities/")
    expect(page.get_by_role("table")).to_contain_text("海康视觉检测线项目")
    expect(page.locator(".opp-totals")).to_contain_text("¥386,000.00")
    shot(page, "list")
    page.goto(live_server.url + f"/customers/{deal.customer_id}/")
    sales = page.get_by_role("region", name="销售")
    expect(sales).to_contain_text("海康视觉检测线项目")
    shot(page, "customer-360")
    # Another region's rep: the opportunity is a 404.
    sign_in(page, e2e_org.wang_fang)
    response = page.goto(live_server.url + f"/opportunities/{deal.pk}/")
    assert response is not None and response.status == 404
