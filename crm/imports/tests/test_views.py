"""The wizard pages: upload → mapping → preview → dry run → run → report, and who sees them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import BatchStatus, ImportBatch
from crm.imports.tests.conftest import csv_bytes, grant_import

pytestmark = pytest.mark.django_db

ROWS = [
    ["客户名称", "联系人", "手机", "省份", "邮箱"],
    ["杭州海康测试科技有限公司", "王先生", "13812341234(微信同号)", "浙江省", "wang@example.com"],
    ["宁波测试贸易有限公司", "那个做建材的老李", "138xxxx1234", "浙江", ""],
]


def _login(client, user):
    client.force_login(user)
    return client


def test_wizard_from_upload_to_report(client, org, django_capture_on_commit_callbacks):
    c = _login(client, org.admin)
    page = c.get(reverse("import_new"))
    assert page.status_code == 200
    assert "上传文件" in page.content.decode()
    upload = SimpleUploadedFile("客户.csv", csv_bytes(ROWS), content_type="text/csv")
    response = c.post(
        reverse("import_new"), {"entity": "customer", "file": upload, "mode": "merge"}
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("import_mapping", args=[batch.pk])
    page = c.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "13812341234(微信同号)" in body  # the sample values next to each column
    data = {f"col_{k}": v for k, v in batch.mapping.items()}
    data.update(mode="merge", where="", save_as="旧系统客户表")
    response = c.post(reverse("import_mapping", args=[batch.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = c.get(reverse("import_preview", args=[batch.pk]))
    body = page.content.decode()
    assert "那个做建材的老李" in body and "需人工核实" in body
    assert "称谓" in body or "先生" in body
    with django_capture_on_commit_callbacks(execute=True):  # the worker: immediate backend
        response = c.post(reverse("import_preview", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED
    page = c.get(reverse("import_detail", args=[batch.pk]))
    body = page.content.decode()
    assert "试运行报告" in body and "开始导入" in body
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("import_run", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
    assert batch.summary["created"] == 1 and batch.summary["rejected"] == 1
    page = c.get(reverse("import_detail", args=[batch.pk]) + "?action=reject")
    assert "那个做建材的老李" in page.content.decode()
    xlsx = c.get(reverse("import_report", args=[batch.pk, "xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    js = c.get(reverse("import_report", args=[batch.pk, "json"]))
    assert js.json()["summary"]["created"] == 1
    fragment = c.get(
        reverse("import_detail", args=[batch.pk]) + "?fragment=status&was=active",
        HTTP_HX_REQUEST="true",
    )
    assert fragment["HX-Refresh"] == "true"
    listing = c.get(reverse("import_list"))
    assert "客户.csv" in listing.content.decode() and "旧系统客户表" in listing.content.decode()


def test_bad_file_is_shown_next_to_the_field(client, org):
    c = _login(client, org.admin)
    upload = SimpleUploadedFile(
        "客户.xlsx", b"name,phone\nA,1\n", content_type="application/vnd.ms-excel"
    )
    response = c.post(
        reverse("import_new"), {"entity": "customer", "file": upload, "mode": "merge"}
    )
    assert response.status_code == 400
    assert "不是 Excel 表格" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_without_import_right_the_pages_are_404(client, org):
    c = _login(client, org.zhang_wei)
    assert c.get(reverse("import_list")).status_code == 404
    assert c.get(reverse("import_new")).status_code == 404
    assert c.get(reverse("import_settings")).status_code == 404


def test_other_users_batch_is_404(client, org):
    grant_import(org.roles["sales_rep"], "customer")
    upload = SimpleUploadedFile("a.csv", csv_bytes(ROWS), content_type="text/csv")
    c = _login(client, org.zhang_wei)
    c.post(reverse("import_new"), {"entity": "customer", "file": upload, "mode": "merge"})
    batch = ImportBatch.objects.get()
    c.force_login(org.wang_fang)
    assert c.get(reverse("import_detail", args=[batch.pk])).status_code == 404
    assert c.post(reverse("import_rollback", args=[batch.pk])).status_code == 404
    c.force_login(org.admin)
    assert c.get(reverse("import_detail", args=[batch.pk])).status_code == 200


def test_settings_page_saves_rules(client, org):
    from crm.imports.config import import_settings

    c = _login(client, org.admin)
    assert c.get(reverse("import_settings")).status_code == 200
    data = {
        "max_file_mb": 20,
        "max_rows": 5000,
        "max_cell_chars": 2000,
        "fuzzy_threshold": 90,
        "company_suffix": "youxian",
        "extra_titles": "会计 主管",
        "rule_person_names": "on",
        "rule_phones": "on",
    }
    response = c.post(reverse("import_settings"), data)
    assert response.status_code == 302
    s = import_settings()
    assert s["max_rows"] == 5000 and s["company_suffix"] == "youxian"
    assert s["rules"]["person_names"] and not s["rules"]["regions"]
    assert s["extra_titles"] == ["会计", "主管"]
