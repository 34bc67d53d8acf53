"""Lead journeys: convert a lead into a customer in one screen (desktop), including the
duplicate-customer hit and linking to it; the public web form; the pages at phone width."""

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

COMPANY = "上海申浦精密机械有限公司"


def _lead(owner: Any, **data: Any) -> Any:
    from crm.leads.services import lead_create

    values = {
        "name": "陈建华",
        "company": COMPANY,
        "mobile": "13812345678",
        "title": "设备部经理",
        "province": "上海",
        "source": "官网表单",
        "industry": "机械制造",
    }
    values.update(data)
    return lead_create(actor=owner, data=values)


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
    page = context.new_page()
    page.crm_device = "phone390"
    try:
        yield page
    finally:
        context.close()


def test_convert_a_lead(desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = desktop_page
    lead = _lead(e2e_org.zhang_wei)
    from crm.leads.services import lead_note_add, lead_status_change

    lead_status_change(actor=e2e_org.zhang_wei, lead=lead, status="contacted")
    lead_note_add(actor=e2e_org.zhang_wei, lead=lead, text="客户计划明年上两条装配线")
    sign_in(page, e2e_org.zhang_wei)

    page.goto(live_server.url + "/leads/mine/")
    page.get_by_role("link", name="陈建华").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("陈建华")
    expect(page.get_by_role("region", name="分配记录")).to_contain_text(e2e_org.zhang_wei.name)
    shot(page, "1-lead")

    page.get_by_role("link", name="转化为客户").click()
    expect(page.get_by_label("客户名称")).to_have_value(COMPANY)
    expect(page.get_by_label("联系人姓名")).to_have_value("陈建华")
    page.get_by_label("同时创建商机").check()
    page.get_by_label("商机名称").fill("申浦装配线项目")
    page.get_by_label("金额（元）").fill("860000")
    shot(page, "2-convert")
    page.get_by_role("button", name="转化", exact=True).click()

    expect(page).to_have_url(re.compile(r"/customers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(COMPANY)
    timeline = page.get_by_role("region", name="客户动态")
    expect(timeline).to_contain_text("把线索「陈建华」转化为本客户")
    expect(timeline).to_contain_text("两条装配线")
    shot(page, "3-customer")

    from crm.leads.models import Lead

    lead = Lead.objects.get(pk=lead.pk)
    assert lead.status == "converted" and lead.converted_opportunity_id is not None

    # Converting again is refused clearly.
    page.goto(live_server.url + f"/leads/{lead.pk}/convert/")
    expect(page.get_by_role("alert").first).to_contain_text("不能重复转化")


def test_convert_hits_an_existing_customer_and_links_to_it(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    from crm.customers.services import customer_create

    page = desktop_page
    existing = customer_create(actor=e2e_org.zhang_wei, data={"name": COMPANY}, contacts=[])
    lead = _lead(e2e_org.zhang_wei)
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + f"/leads/{lead.pk}/convert/")
    page.get_by_role("button", name="转化", exact=True).click()

    hit = page.get_by_role("alert").filter(has_text="这个客户已经登记过")
    expect(hit).to_contain_text(COMPANY)
    expect(hit).to_contain_text(e2e_org.zhang_wei.name)
    shot(page, "1-duplicate")
    hit.get_by_role("button", name="关联到这个客户并转化").click()

    expect(page).to_have_url(re.compile(rf"/customers/{existing.pk}/$"))
    expect(page.get_by_role("region", name="客户动态")).to_contain_text(
        "把线索「陈建华」转化为本客户"
    )
    from crm.customers.models import Customer

    assert Customer.objects.filter(name=COMPANY).count() == 1


def test_web_form_to_pool_and_claim(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    from crm.leads.models import CaptureForm

    page = desktop_page
    form = CaptureForm.objects.create(
        name="官网咨询表单", key="e2e-form", fields=["company", "province", "notes"]
    )
    page.goto(live_server.url + f"/forms/{form.key}/")
    page.get_by_label("姓名").fill("林晓峰")
    page.get_by_label("手机").fill("139 1234 5678")
    page.get_by_label("公司").fill("广州番禺智能家居有限公司")
    page.get_by_label("省份").fill("四川")
    page.get_by_label("需求说明").fill("想了解智能仓储方案")
    shot(page, "1-form")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="提交成功")).to_be_visible()
    shot(page, "2-thanks")

    # No rule covers 四川: the lead waits in the pool, where a rep claims it.
    sign_in(page, e2e_org.wang_fang)
    page.goto(live_server.url + "/leads/pool/")
    row = page.get_by_role("row").filter(has_text="林晓峰")
    expect(row).to_contain_text("官网表单")
    shot(page, "3-pool")
    row.get_by_role("button", name="领取").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("林晓峰")
    expect(page.get_by_role("region", name="分配记录")).to_contain_text("从线索池领取")


def test_pages_at_phone_width(phone390: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    from crm.leads.models import AssignmentRule

    page = phone390
    AssignmentRule.objects.create(
        name="华东：上海、江苏、浙江、安徽",
        match="region",
        values=["上海", "江苏", "浙江", "安徽"],
        strategy="round_robin",
        department=e2e_org.east,
    )
    lead = _lead(e2e_org.zhang_wei)
    _lead(e2e_org.zhang_wei, name="刘晓燕", company="苏州恒瑞电子有限公司", mobile="13900001111")
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/leads/")
    expect(page.get_by_role("link", name="陈建华")).to_be_visible()
    shot(page, "1-list")
    page.goto(live_server.url + f"/leads/{lead.pk}/")
    expect(page.get_by_role("link", name="转化为客户")).to_be_visible()
    shot(page, "2-detail")
    page.goto(live_server.url + f"/leads/{lead.pk}/convert/")
    expect(page.get_by_role("button", name="转化", exact=True)).to_be_visible()
    shot(page, "3-convert")
    page.goto(live_server.url + "/leads/new/")
    expect(page.get_by_label("姓名")).to_be_visible()
    shot(page, "4-create")
    # Nothing is wider than the screen.
    for url in ("/leads/", f"/leads/{lead.pk}/", f"/leads/{lead.pk}/convert/", "/leads/new/"):
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)

    sign_in(page, e2e_org.admin)
    page.goto(live_server.url + "/admin/lead-rules/")
    expect(page.get_by_role("heading", name="测试一条线索")).to_be_visible()
    page.get_by_label("省份").first.fill("浙江省")
    page.get_by_role("button", name="看看会分给谁").click()
    expect(page.locator("#rule-test-result")).to_contain_text("华东：上海、江苏、浙江、安徽")
    shot(page, "5-rules")
