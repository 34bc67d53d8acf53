"""Duplicate review journey: the queue, the side-by-side comparison, a merge with a field
choice, the merged customer's page, and undo — at desktop and phone width."""

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


def _pair(org: Any) -> tuple[Any, Any]:
    """Two records of one company owned by li.na (华东 manager), queued by a scan."""
    from crm.customers.services import customer_create
    from crm.dedupe.services import duplicate_scan

    a = customer_create(
        actor=org.admin,
        owner=org.li_na,
        data={"name": "杭州西湖电子科技有限公司", "industry": "电子", "level": "B"},
        contacts=[{"name": "王建国", "mobile": "13812345678"}],
    )
    b = customer_create(
        actor=org.admin,
        owner=org.li_na,
        allow_duplicate=True,
        data={"name": "杭州西湖电子科技", "level": "A", "address": "文三路 90 号"},
        contacts=[{"name": "李娜", "mobile": "13912345678"}],
    )
    duplicate_scan(full=True)
    return a, b


def test_review_merge_with_a_field_choice_then_undo(
    page: Any, e2e_org: Any, live_server: Any, sign_in, shot
):
    a, b = _pair(e2e_org)
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure" of merge and undo
    sign_in(page, e2e_org.li_na)
    page.goto(live_server.url + "/")
    # The home page's card leads to the queue (the menu has it under 数据 too).
    page.get_by_role("main").get_by_role("link", name=re.compile("疑似重复客户")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("疑似重复客户")
    queue = page.get_by_role("table")
    expect(queue).to_contain_text("杭州西湖电子科技有限公司")
    expect(queue).to_contain_text("名称相同")
    shot(page, "1-queue")

    page.get_by_role("link", name="比较并合并").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("比较并合并")
    level = page.get_by_role("group", name="客户级别")
    expect(level).to_contain_text("B")
    expect(level).to_contain_text("A")
    # keep A, take B's level; the address A lacks is filled from B by default
    keep = page.get_by_role("group", name="保留哪一个客户")
    keep.get_by_role("radio", name=re.compile("杭州西湖电子科技有限公司")).check()
    level.get_by_role("radio", name=re.compile("A$")).check()
    shot(page, "2-compare")
    page.get_by_role("button", name="合并", exact=True).click()

    expect(page).to_have_url(re.compile(r"/merges/\d+/$"))
    expect(page.get_by_text("已合并：")).to_be_visible()
    changes = page.get_by_role("table").first
    expect(changes).to_contain_text("客户级别")
    expect(changes).to_contain_text("文三路 90 号")
    shot(page, "3-merged")

    page.get_by_role("link", name="杭州西湖电子科技有限公司").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("杭州西湖电子科技有限公司")
    expect(page.get_by_role("region", name="客户动态")).to_contain_text("合并了重复客户")
    expect(page.get_by_text("李娜").first).to_be_visible()  # B's contact is on A now
    page.go_back()

    page.get_by_role("button", name="撤销合并").click()
    expect(page.get_by_text("已撤销合并")).to_be_visible()
    shot(page, "4-undone")
    page.goto(live_server.url + f"/customers/{b.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("杭州西湖电子科技")
    expect(page.get_by_text("李娜").first).to_be_visible()
    page.goto(live_server.url + f"/customers/{a.pk}/")
    expect(page.get_by_text("李娜")).to_have_count(0)


def test_other_region_gets_404(desktop_page: Any, e2e_org: Any, live_server: Any, sign_in):
    page = desktop_page
    _pair(e2e_org)
    from crm.dedupe.models import DuplicatePair

    pair = DuplicatePair.objects.get()
    sign_in(page, e2e_org.huang_qiang)  # 华南 manager
    page.goto(live_server.url + "/duplicates/")
    expect(page.get_by_text("没有待处理的疑似重复客户")).to_be_visible()
    response = page.goto(live_server.url + f"/duplicates/{pair.pk}/")
    assert response is not None and response.status == 404
