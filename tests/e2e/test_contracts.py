"""Contract journey: from a won opportunity to a contract, a payment plan, approval, a
payment recorded against the first instalment, and the receivable on the customer page;
at 1280 px and at phone width (390 px). Also: another region's rep gets a 404."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def _won_opportunity(owner: Any) -> Any:
    from django.utils import timezone

    from crm.customers.services import customer_create
    from crm.opportunities.models import StageKind
    from crm.opportunities.services import opportunity_create, pipeline_default, pipeline_stages

    customer = customer_create(
        actor=owner,
        data={"name": "无锡华晟精密机械有限公司", "province": "江苏", "city": "无锡"},
        contacts=[{"name": "陈国平", "mobile": "13961234567", "title": "采购总监"}],
    )
    pipeline = pipeline_default()
    won = next(s for s in pipeline_stages(pipeline) if s.kind == StageKind.WON)
    return opportunity_create(
        actor=owner,
        customer=customer,
        data={
            "name": "华晟二期装配线改造项目",
            "amount": Decimal("1200000"),
            "expected_close_date": timezone.localdate(),
            "pipeline": pipeline,
            "stage": won,
        },
        contacts=[(customer.contacts.first(), "decision_maker")],
    )


def test_won_opportunity_to_contract_plan_payment_and_receivable(
    page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    from django.utils import timezone

    if page.crm_device == "phone":
        page.set_viewport_size({"width": 390, "height": 844})
    opp = _won_opportunity(e2e_org.zhang_wei)
    today = timezone.localdate()

    # The rep opens the won opportunity and generates the contract from it.
    sign_in(page, e2e_org.zhang_wei)
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    page.get_by_role("link", name="生成合同").click()
    expect(page.get_by_role("heading", name="新建合同")).to_be_visible()
    expect(page.get_by_label("合同名称")).to_have_value("华晟二期装配线改造项目")
    expect(page.get_by_label("合同金额")).to_have_value("1200000.00")
    page.get_by_label("签约日期").fill(today.isoformat())
    shot(page, "1-create-from-opportunity")
    page.get_by_role("button", name="创建合同").click()
    expect(page).to_have_url(re.compile(r"/contracts/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("华晟二期装配线改造项目")
    expect(page.get_by_text(f"HT-{today.year}-0001").first).to_be_visible()
    contract_url = page.url

    # A plan of two equal instalments, the first due today.
    page.get_by_role("link", name="添加回款计划").first.click()
    page.get_by_label("期数", exact=True).fill("2")
    page.get_by_label("第一期日期").fill(today.isoformat())
    page.get_by_label("间隔（月）").fill("3")
    shot(page, "2-plan")
    page.get_by_role("button", name="生成回款计划").click()
    plan = page.get_by_role("region", name="回款计划")
    expect(plan).to_contain_text("¥600,000.00")
    expect(plan).to_contain_text("第 2 期")
    expect(plan).to_contain_text(today.isoformat())
    page.get_by_role("button", name="提交审批").click()
    expect(page.get_by_text("合同已提交审批")).to_be_visible()

    # The manager approves.
    sign_in(page, e2e_org.li_na)
    page.goto(contract_url)
    page.get_by_role("button", name="审批通过，生效").click()
    expect(page.get_by_text("合同已生效")).to_be_visible()

    # Back to the rep: record the first instalment's payment (amount prefilled).
    sign_in(page, e2e_org.zhang_wei)
    page.goto(contract_url)
    page.get_by_role("link", name="登记回款 第 1 期").click()
    expect(page.get_by_label("回款金额")).to_have_value("600000.00")
    page.get_by_label("凭证号").fill("CMB20261122001")
    shot(page, "3-payment")
    page.get_by_role("button", name="保存回款").click()
    expect(page.get_by_text("已登记回款")).to_be_visible()
    payments = page.get_by_role("region", name="回款记录")
    expect(payments).to_contain_text("CMB20261122001")
    expect(page.get_by_role("region", name="回款计划")).to_contain_text("已收齐")
    money = page.get_by_role("region", name="金额与回款")
    expect(money).to_contain_text("¥600,000.00")
    expect(money).to_contain_text("已回款 50%")
    shot(page, "4-contract-with-payment")

    # The customer page shows the receivable.
    page.get_by_role("link", name="无锡华晟精密机械有限公司").first.click()
    contracts = page.get_by_role("region", name="合同与回款")
    expect(contracts).to_contain_text("应收余额")
    expect(contracts).to_contain_text("¥600,000.00")
    contracts.scroll_into_view_if_needed()
    shot(page, "5-customer-receivable")

    # Finance sees the amounts; another region's rep gets a 404.
    sign_in(page, e2e_org.liu_yang)
    page.goto(f"{live_server.url}/payments/?view=payments")
    expect(page.get_by_role("main")).to_contain_text("CMB20261122001")
    shot(page, "6-finance-payments")
    sign_in(page, e2e_org.wang_fang)
    response = page.goto(contract_url)
    assert response is not None and response.status == 404
