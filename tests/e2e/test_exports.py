"""Export journeys: from the customer list, filtered through the page (htmx, no reload),
the 导出 menu downloads an xlsx that opens with openpyxl and holds exactly the filtered
rows; a list too big to stream goes to the worker and is downloaded from 我的导出."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


_MOBILES = iter(range(13812345678, 13812349999))


def _customer(owner: Any, name: str, **data: str) -> Any:
    from crm.customers.services import customer_create

    return customer_create(
        actor=owner,
        data={"name": name, **data},
        contacts=[{"name": "王建国", "mobile": str(next(_MOBILES))}],
    )


def _rows(path: str) -> list[dict[str, Any]]:
    sheet = load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_export_the_filtered_customer_list(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot, tmp_path
):
    page = desktop_page
    rep = e2e_org.zhang_wei
    _customer(rep, "杭州海康威视数字技术股份有限公司", level="A", province="浙江")
    _customer(rep, "宁波舟山港股份有限公司", level="B", province="浙江")
    _customer(rep, '=HYPERLINK("http://evil")科技有限公司', level="A")
    _customer(e2e_org.wang_fang, "深圳市大疆创新科技有限公司", level="A", province="广东")

    sign_in(page, e2e_org.li_na)  # 华东 manager: may export, sees the team's customers
    page.goto(live_server.url + "/customers/")
    results = page.locator("#customer-results")
    expect(results).to_contain_text("宁波舟山港")
    # Filter through the page: htmx swaps the results, the page is not reloaded.
    page.get_by_label("级别").select_option("A")
    expect(results).not_to_contain_text("宁波舟山港")
    expect(page).to_have_url(re.compile(r"level=A"))

    page.get_by_role("button", name="导出").click()
    menu = page.get_by_role("link", name="Excel 文件 (.xlsx)")
    expect(menu).to_be_visible()
    shot(page, "1-menu")
    with page.expect_download() as info:
        menu.click()
    download = info.value
    assert download.suggested_filename.startswith("客户-")
    assert download.suggested_filename.endswith(".xlsx")
    path = str(tmp_path / download.suggested_filename)
    download.save_as(path)

    rows = _rows(path)
    names = sorted(r["客户名称"] for r in rows)
    # Only level A, only what li.na may see (not 华南's 大疆), the formula neutralised.
    assert names == ['\'=HYPERLINK("http://evil")科技有限公司', "杭州海康威视数字技术股份有限公司"]
    assert {r["客户级别"] for r in rows} == {"A"}
    assert all(r["ID"] for r in rows)
    assert all(re.fullmatch(r"138 \d{4} \d{4}", r["手机"]) for r in rows)

    from crm.audit.models import AuditEntry

    entry = AuditEntry.objects.get(action="export", actor=e2e_org.li_na)
    assert entry.changes["filters"]["level"] == "A" and entry.changes["rows"] == 2


def test_big_export_through_my_exports(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot, settings, tmp_path
):
    """More rows than the streaming limit: queued for the worker (immediate in tests), then
    downloaded from 我的导出, where the notification points."""
    page = desktop_page
    settings.CRM_EXPORT_SYNC_ROWS = 1
    for name in ("苏州工业园区晨星精密机械有限公司", "无锡小天鹅电器有限公司"):
        _customer(e2e_org.zhang_wei, name, level="B")
    sign_in(page, e2e_org.li_na)
    page.goto(live_server.url + "/customers/")
    page.get_by_role("button", name="导出").click()
    page.get_by_role("link", name="CSV 文件 (.csv)").click()

    expect(page).to_have_url(live_server.url + "/exports/")
    expect(page.get_by_role("heading", name="我的导出")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("后台")
    download_link = page.get_by_role("link", name="下载")
    expect(download_link).to_be_visible()
    shot(page, "1-my-exports")
    with page.expect_download() as info:
        download_link.click()
    path = tmp_path / "big.csv"
    info.value.save_as(str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "无锡小天鹅电器有限公司" in text and "晨星精密" in text


def test_export_menu_at_phone_width(phone_page: Any, e2e_org: Any, live_server: Any, sign_in, shot):
    page = phone_page
    _customer(e2e_org.zhang_wei, "杭州海康威视数字技术股份有限公司", level="A")
    sign_in(page, e2e_org.li_na)
    page.goto(live_server.url + "/customers/")
    page.get_by_role("button", name="导出").click()
    expect(page.get_by_role("link", name="CSV 文件 (.csv)")).to_be_visible()
    shot(page, "1-menu")
    # A rep without the export right has no such button at all.
    sign_in(page, e2e_org.zhang_wei)
    page.goto(live_server.url + "/customers/")
    expect(page.get_by_role("button", name="导出")).to_have_count(0)


def test_backup_page_schedule_and_backup_now(
    page: Any, e2e_org: Any, live_server: Any, sign_in, shot, settings, tmp_path
):
    """系统管理 → 备份与恢复: set the schedule, take a backup now, see it listed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    sign_in(page, e2e_org.admin)
    page.goto(live_server.url + "/admin/backup/")
    expect(page.get_by_role("heading", name="备份与恢复")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("还没有备份")
    page.get_by_label("备份时间").fill("03:15")
    page.get_by_label("保留份数（天）").fill("10")
    page.get_by_label("备份目录").fill(str(tmp_path / "backups"))
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_role("alert").filter(has_text="备份设置已保存")).to_be_visible()
    expect(page.get_by_label("备份时间")).to_have_value("03:15")

    page.get_by_role("button", name="立即备份").click()
    expect(page.get_by_role("alert").filter(has_text="已开始备份")).to_be_visible()
    page.reload()
    expect(page.get_by_role("cell", name="成功")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("最近一次备份成功")
    expect(page.get_by_text("crm-backup-").first).to_be_visible()
    shot(page, "1-after-backup")
    assert len(list((tmp_path / "backups").glob("crm-backup-*.tar.gz"))) == 1
