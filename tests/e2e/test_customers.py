"""Customer journeys: quick add on a phone, pinyin search, the 360 page and its timeline, and
the region wall (a rep of one region cannot open another region's customer)."""

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

HIKVISION = "杭州海康威视数字技术股份有限公司"


def _customer(owner: Any, name: str, contact: dict[str, str], **data: str) -> Any:
    """A customer of `owner` with one contact, through the service (as the owner)."""
    from crm.customers.services import customer_create

    return customer_create(actor=owner, data={"name": name, **data}, contacts=[contact])


def _timeline(page: Any) -> Any:
    return page.get_by_role("region", name="客户动态")


def _quick_add(page: Any, name: str, mobile: str) -> Any:
    """Open the header's quick add, fill the name and a mobile, save; returns the dialog."""
    page.get_by_role("link", name="新建客户").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="快速新建客户")).to_be_visible()
    dialog.get_by_label("客户名称").fill(name)
    dialog.get_by_label("手机").fill(mobile)
    return dialog


def test_quick_add_at_phone_width(phone_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = phone_page
    name = "苏州工业园区晨星精密机械有限公司"
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/")

    dialog = _quick_add(page, name, "139 1234 5678")
    shot(page, "1-quick-add")
    dialog.get_by_role("button", name="保存客户").click()
    # One screen, then straight to the new customer's page.
    expect(page).to_have_url(re.compile(r"/customers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(_timeline(page)).to_contain_text("创建了客户")
    shot(page, "2-customer-360")

    # A colleague from another region registers the same company: the hit names its owner.
    sign_in(page, e2e_org.wang_fang)
    page.goto(live_server.url + "/")
    dialog = _quick_add(page, name, "137 0000 1111")
    dialog.get_by_role("button", name="保存客户").click()
    hit = dialog.get_by_role("alert").filter(has_text="该客户已经登记过")
    expect(hit).to_contain_text(name)
    expect(hit).to_contain_text(e2e_org.zhang_wei.name)
    expect(hit).to_contain_text("华东销售部")
    expect(hit.get_by_role("button", name="申请成为协作人")).to_be_visible()
    shot(page, "3-duplicate")
    # Nothing was created twice.
    from crm.customers.models import Customer

    assert Customer.objects.filter(name=name).count() == 1


def test_search_by_pinyin_initials(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    page = desktop_page
    customer = _customer(
        e2e_org.zhang_wei,
        HIKVISION,
        {"name": "王建国", "mobile": "13812345678", "title": "采购经理"},
        province="浙江省",
        city="杭州市",
    )
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/")
    box = page.get_by_role("searchbox", name="全局搜索")
    results = page.get_by_role("listbox", name="搜索结果")

    box.press_sequentially("wjg")
    contact = results.get_by_role("option").filter(has_text="王建国")
    expect(contact).to_be_visible()
    expect(contact).to_contain_text("拼音")
    shot(page, "1-wjg")

    box.fill("")
    box.press_sequentially("hkws")
    # The company's own hit (王建国's line names the company too, so look for the kind first).
    company = results.get_by_role("option", name=re.compile(rf"^客户\s*{HIKVISION}"))
    expect(company).to_be_visible()
    shot(page, "2-hkws")
    # The keyboard alone gets there: down to the first hit, Enter opens it.
    box.press("ArrowDown")
    expect(company).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + f"/customers/{customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(HIKVISION)

    # "/" jumps to the search box from anywhere on the page.
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("")


def test_customer_360_timeline(page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    customer = _customer(
        e2e_org.zhang_wei,
        "宁波港城物流有限公司",
        {"name": "陈晓东", "mobile": "13900001111", "title": "总经理"},
        province="浙江省",
        city="宁波市",
    )
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + f"/customers/{customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(customer.name)
    expect(_timeline(page)).to_contain_text("创建了客户")

    if page.crm_device == "phone":
        # The field actions sit in a bar at the bottom; "拨打" dials the primary contact.
        bar = page.get_by_role("navigation", name="常用操作")
        expect(bar).to_be_visible()
        expect(bar.get_by_role("link", name="拨打")).to_have_attribute("href", re.compile(r"^tel:"))
        shot(page, "1-360")
        bar.get_by_role("link", name="编辑").click()
        expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/edit/$"))
    else:
        shot(page, "1-360")
        # Edit in place: the profile card turns into the form.
        page.get_by_role("link", name="编辑", exact=True).click()
        expect(page.get_by_role("heading", name="编辑客户信息")).to_be_visible()
    city = page.get_by_label("城市")
    expect(city).to_have_value("宁波市")
    city.fill("舟山市")
    shot(page, "2-edit")
    page.get_by_role("button", name="保存", exact=True).click()

    expect(page).to_have_url(live_server.url + f"/customers/{customer.pk}/")
    change = _timeline(page).get_by_role("listitem").filter(has_text="城市")
    expect(change.first).to_contain_text("宁波市")
    expect(change.first).to_contain_text("舟山市")
    expect(page.get_by_role("region", name="客户资料")).to_contain_text("舟山市")
    shot(page, "3-timeline")


def test_other_region_gets_404(desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = desktop_page
    east = _customer(
        e2e_org.zhang_wei, "上海浦江电子科技有限公司", {"name": "刘洋", "mobile": "13600002222"}
    )
    sign_in(page, e2e_org.wang_fang)
    response = page.goto(live_server.url + f"/customers/{east.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_text(east.name)).to_have_count(0)
    shot(page, "1-not-found")
    # Nor does the search box give it away.
    page.goto(live_server.url + "/")
    page.get_by_role("searchbox", name="全局搜索").press_sequentially("浦江电子")
    expect(page.get_by_role("listbox", name="搜索结果")).to_contain_text("没有找到")
