"""Quote journey (issue 5): a rep creates a quote from an opportunity (its products prefilled,
one line added, live totals), revises it by lowering a price, and finds the change in the
revision history (old → new) and side by side; the print view shows the amount in capital
numerals. A rep of another region gets a 404 for the same quote."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    # whitenoise notes that STATIC_ROOT was never collected; tests serve from the finders.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CUSTOMER = "常州金石精密机械有限公司"


def _pipelines_ensure() -> None:
    """The live-server tests flush the database between tests, data migrations included: put
    the default pipelines back the way the migration made them."""
    import importlib

    from django.apps import apps

    from crm.opportunities.models import Pipeline

    if not Pipeline.objects.exists():
        migration = importlib.import_module("crm.opportunities.migrations.0002_default_pipelines")
        migration.create_defaults(apps, None)


def _world(org: Any) -> dict[str, Any]:
    from crm.customers.services import customer_create
    from crm.opportunities.services import opportunity_create
    from crm.quotes import services

    _pipelines_ensure()
    admin, rep = org.admin, org.zhang_wei
    services.quote_settings_update(
        actor=admin,
        values={"company_name": "华信智能装备有限公司", "company_phone": "0512-66668888"},
    )
    cnc = services.product_create(
        actor=admin,
        data={
            "code": "CNC-VMC850",
            "name": "VMC850 立式加工中心",
            "category": "数控机床",
            "unit": "台",
            "list_price": "268000",
            "tax_rate": "13",
        },
    )
    services.product_create(
        actor=admin,
        data={
            "code": "SEN-PE12",
            "name": "光电传感器 PE-12",
            "category": "传感器",
            "unit": "只",
            "list_price": "360",
            "tax_rate": "13",
        },
    )
    customer = customer_create(
        actor=rep,
        data={"name": CUSTOMER, "province": "江苏", "city": "常州"},
        contacts=[{"name": "周明", "title": "设备部经理", "mobile": "13961234567"}],
    )
    opp = opportunity_create(actor=rep, customer=customer, data={"name": "机加车间扩产项目"})
    services.opportunity_product_add(actor=rep, opportunity=opp, product=cnc, quantity="2")
    return {"customer": customer, "opportunity": opp}


def _rows(page: Any) -> Any:
    return page.locator("[data-quote-line]")


def test_create_quote_then_revise_a_price(
    page: Any, e2e_org: Any, live_server: Any, sign_in, shot
) -> None:
    world = _world(e2e_org)
    sign_in(page, e2e_org.zhang_wei)

    # 1. New quote from the opportunity: its machine is already on the first line.
    page.goto(f"{live_server.url}/quotes/new/?opportunity={world['opportunity'].pk}")
    expect(page.get_by_role("heading", name="新建报价单")).to_be_visible()
    expect(_rows(page).first.get_by_label("品名")).to_have_value("VMC850 立式加工中心")
    totals = page.locator("#quote-totals")
    expect(totals).to_contain_text("¥536,000.00")

    # Add the sensors: choosing the product fills name, unit and price.
    page.get_by_role("button", name="+ 添加一行").click()
    second = _rows(page).nth(1)
    second.get_by_label("产品").select_option(label="光电传感器 PE-12（SEN-PE12）")
    expect(second.get_by_label("单价")).to_have_value("360.00")
    second.get_by_label("数量").fill("10")
    expect(totals).to_contain_text("¥539,600.00")
    expect(totals).to_contain_text("伍拾叁万玖仟陆佰元整")
    expect(second.locator("[data-quote-amount]")).to_have_text("¥3,600.00")
    shot(page, "1-new-quote")
    page.get_by_role("button", name="保存报价单").click()

    expect(page).to_have_url(re.compile(r"/quotes/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("机加车间扩产项目")
    expect(page.get_by_text(re.compile(r"BJ-\d{4}-000001")).first).to_be_visible()
    expect(page.get_by_role("region", name="报价内容")).to_contain_text("¥539,600.00")
    shot(page, "2-quote-detail")

    # 2. Revise: the customer asked for a lower price on the machine.
    page.get_by_role("link", name="修改报价").click()
    expect(page.get_by_role("heading", name=re.compile("修订报价单"))).to_be_visible()
    _rows(page).first.get_by_label("单价").fill("255000")
    expect(totals).to_contain_text("¥513,600.00")
    page.get_by_label("修订说明").fill("客户采购部要求降价")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.get_by_role("status").first).to_contain_text("已保存为第 2 版")
    expect(page.get_by_role("region", name="报价内容")).to_contain_text("¥513,600.00")

    # 3. The history names who changed what, old → new.
    page.get_by_role("link", name="修订历史（2）").click()
    newest = page.locator("#rev-2")
    expect(newest).to_contain_text("第 2 版")
    expect(newest).to_contain_text(e2e_org.zhang_wei.name)
    expect(newest).to_contain_text("客户采购部要求降价")
    expect(newest).to_contain_text("VMC850 立式加工中心")
    expect(newest.locator(".change-old").first).to_have_text("¥268,000.00")
    expect(newest.locator(".change-new").first).to_have_text("¥255,000.00")
    shot(page, "3-revision-history")

    # Side by side, and revision 1 still readable as it was.
    newest.get_by_role("link", name="与上一版并排对比").click()
    expect(page.get_by_role("heading", name="版本对比")).to_be_visible()
    expect(page.locator(".cmp-changed, .cmp-hl").first).to_be_visible()
    shot(page, "4-compare")
    page.goto(page.url.split("/revisions/")[0] + "/revisions/1/")
    expect(page.get_by_role("status").first).to_contain_text("历史版本")
    expect(page.get_by_role("region", name="报价内容")).to_contain_text("¥268,000.00")

    # 4. The print view: letterhead, capital numerals, the print button.
    page.goto(page.url.split("/revisions/")[0] + "/print/")
    expect(page.get_by_role("button", name="打印 / 保存为 PDF")).to_be_visible()
    expect(page.locator(".company-name")).to_have_text("华信智能装备有限公司")
    expect(page.locator(".in-words")).to_contain_text("伍拾壹万叁仟陆佰元整")
    shot(page, "5-print")

    # 5. 华南's rep cannot open 华东's quote: the same 404 as a missing one.
    quote_url = page.url.replace("/print/", "/")
    sign_in(page, e2e_org.wang_fang)
    response = page.goto(quote_url)
    assert response is not None and response.status == 404
