"""The import wizard in a browser: upload → mapping → preview → dry run → import → report
(download), at desktop width; the report and the progress bar at phone width."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ROWS = [
    ["公司名称", "联系人", "手机", "邮箱", "省份", "客户等级", "内部编号"],
    [
        "杭州 晨曦 智能科技有限公司",
        "王先生",
        "13812341234(微信同号)",
        "wang@chenxi.cn",
        "浙江省",
        "A级",
        "X-001",
    ],
    [
        "华为测试技术有限公司（北京分公司）",
        "张总",
        "电话不通,建议邮件联系",
        "zhang@@huawei",
        "北京市",
        "B",
        "X-002",
    ],
    ["宁波甬江建材有限公司", "那个做建材的老李", "138xxxx1234", "", "浙江", "", "X-003"],
    ["杭州晨曦智能科技有限公司", "李娜", "139 1234 5678", "", "", "", "X-004"],
]


def _csv(path: Path) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(ROWS)
    path.write_bytes(buf.getvalue().encode("gbk"))  # as Chinese Excel saves it
    return path


def test_import_wizard_from_upload_to_report(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in: Any, shot: Any, tmp_path: Path
) -> None:
    page = desktop_page
    page.on("dialog", lambda dialog: dialog.accept())  # the "开始导入？" confirmation
    sign_in(page, e2e_org.admin)
    page.goto(live_server.url + "/")
    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("button", name="数据").click()
    nav.get_by_role("link", name="数据导入").click()
    expect(page.get_by_role("heading", name="数据导入", level=1)).to_be_visible()
    shot(page, "0-empty-list")
    page.get_by_role("link", name="新建导入").first.click()

    # 1. upload a GBK CSV
    page.get_by_label("导入什么").select_option("customer")
    page.get_by_label("文件", exact=True).set_input_files(str(_csv(tmp_path / "老系统客户.csv")))
    page.get_by_label("迁移批次名称（可选）").fill("2026 旧系统迁移")
    shot(page, "1-upload")
    page.get_by_role("button", name="上传并识别列").click()

    # 2. mapping: recognised from the headers, the unknown column left out
    expect(page.get_by_role("heading", level=1)).to_contain_text("字段映射")
    expect(page.get_by_text("GBK/GB18030")).to_be_visible()
    expect(page.get_by_label("公司名称")).to_have_value("name")
    expect(page.get_by_label("手机")).to_have_value("contact.mobile")
    expect(page.get_by_label("客户等级")).to_have_value("level")
    expect(page.get_by_label("内部编号")).to_have_value("")
    page.get_by_label("保存为映射模板（可选）").fill("旧系统客户表")
    shot(page, "2-mapping")
    page.get_by_role("button", name="保存映射并预览").click()

    # 3. preview after cleaning: nothing written yet
    expect(page.get_by_role("heading", level=1)).to_contain_text("清洗预览")
    table = page.get_by_role("table")
    expect(table).to_contain_text("杭州晨曦智能科技有限公司")
    expect(table).to_contain_text("需人工核实")
    expect(table).to_contain_text("微信同号")
    shot(page, "3-preview")
    page.get_by_role("button", name=re.compile("试运行全部")).click()

    # 4. dry-run report
    expect(page.get_by_role("heading", name="试运行报告")).to_be_visible()
    status = page.locator("#batch-status")
    expect(status).to_contain_text("将新建")
    shot(page, "4-dry-run")
    page.get_by_role("button", name="开始导入").click()

    # 5. the import report
    expect(page.get_by_role("heading", name="导入报告")).to_be_visible()
    expect(status.get_by_text("已完成")).to_be_visible()
    tabs = page.get_by_role("list", name="按处理结果筛选")
    expect(tabs).to_contain_text("新建")
    shot(page, "5-report")
    tabs.get_by_role("link", name=re.compile("拒绝")).click()
    expect(page.get_by_role("table")).to_contain_text("那个做建材的老李")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载报告 (Excel)").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    from crm.customers.models import Customer

    chenxi = Customer.objects.get(name="杭州晨曦智能科技有限公司")
    assert sorted(chenxi.contacts.values_list("name", flat=True)) == ["李娜", "王"]
    assert Customer.objects.filter(name="华为测试技术有限公司(北京分公司)").exists()
    assert not Customer.objects.filter(name__startswith="宁波").exists()

    # the batch list and the staged migration's reconciliation
    page.get_by_role("link", name="全部批次").click()
    expect(page.get_by_role("table")).to_contain_text("老系统客户.csv")
    page.get_by_role("link", name="2026 旧系统迁移").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("迁移对账")
    shot(page, "6-reconciliation")


def test_progress_and_report_on_a_phone(
    phone_page: Any, e2e_org: Any, live_server: Any, sign_in: Any, shot: Any
) -> None:
    """A batch the worker is running shows a progress bar that polls; the report reads as
    cards on a phone."""
    from crm.imports.models import BatchStatus, ImportBatch
    from crm.imports.services import import_execute, import_start, import_upload

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(ROWS)
    batch = import_upload(
        actor=e2e_org.admin, entity="customer", file_name="客户.csv", data=buf.getvalue().encode()
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, processed_rows=2)
    page = phone_page
    sign_in(page, e2e_org.admin)
    page.goto(live_server.url + f"/imports/{batch.pk}/")
    bar = page.get_by_role("progressbar", name="进度")
    expect(bar).to_have_attribute("aria-valuenow", "50")
    shot(page, "1-progress")
    # the worker finishes: the polling fragment reloads the page with the report
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.QUEUED)
    import_execute(batch.pk, dry_run=False)
    expect(page.get_by_role("heading", name="导入报告")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("需人工核实")
    shot(page, "2-report")
    assert import_start  # the same engine the button starts
