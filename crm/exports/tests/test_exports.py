"""Exports of list views: scope, field security, the export permission, formula escaping,
the audit entry, csv for Chinese Excel, filters as on the page, and big lists through the
worker (ImmediateBackend in tests)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from crm.access.models import FieldAccess, FieldRule, RoleGrant
from crm.audit.models import AuditEntry
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.exports.models import ExportJob, ExportStatus
from crm.exports.registry import export_get
from crm.exports.services import exports_prune
from crm.exports.writers import cell_escape, cell_value
from crm.notifications.models import Notification
from tests.api.clients import api_client, assert_error

PAYLOADS = Path("/work/shared/testdata/pat__csv_injection_payloads.txt")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def make_customer(actor, name, contacts=None, **data):
    return customer_services.customer_create(
        actor=actor, data={"name": name, **data}, contacts=contacts
    )


@pytest.fixture
def world(org):
    east = make_customer(
        org.zhang_wei,
        "杭州海康威视数字技术股份有限公司",
        contacts=[{"name": "王建国", "mobile": "138 1234 5678", "email": "wjg@hik.com"}],
        level="A",
        province="浙江",
        city="杭州",
    )
    east_b = make_customer(org.zhang_wei, "宁波舟山港股份有限公司", level="B", province="浙江")
    south = make_customer(
        org.wang_fang,
        "深圳市大疆创新科技有限公司",
        contacts=[{"name": "李华", "mobile": "13922223333"}],
        level="A",
        province="广东",
        city="深圳",
    )
    return {"east": east, "east_b": east_b, "south": south}


def grant_export(org, role_code, entity="customer"):
    grant = RoleGrant.objects.get(role=org.roles[role_code], entity=entity)
    grant.actions = [*grant.actions, "export"]
    grant.save()


def xlsx_rows(response) -> list[list]:
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def csv_rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def as_dicts(rows: list[list]) -> list[dict]:
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def export(client, user, entity="customer", **params):
    client.force_login(user)
    return client.get(reverse("export", args=[entity]), params)


# ---------------------------------------------------------------- scope and filters


def test_south_rep_exports_only_south_customers(client, org, world):
    grant_export(org, "sales_rep")
    rows = as_dicts(xlsx_rows(export(client, org.wang_fang)))
    assert [r["客户名称"] for r in rows] == ["深圳市大疆创新科技有限公司"]
    assert rows[0]["ID"] == world["south"].pk


def test_south_manager_sees_team_not_east(client, org, world):
    names = {r["客户名称"] for r in as_dicts(xlsx_rows(export(client, org.huang_qiang)))}
    assert names == {"深圳市大疆创新科技有限公司"}


def test_filters_are_the_list_pages(client, org, world):
    rows = as_dicts(xlsx_rows(export(client, org.admin, level="A", sort="name")))
    assert sorted(r["客户名称"] for r in rows) == [
        "杭州海康威视数字技术股份有限公司",
        "深圳市大疆创新科技有限公司",
    ]
    rows = as_dicts(xlsx_rows(export(client, org.admin, province="浙江", level="B")))
    assert [r["客户名称"] for r in rows] == ["宁波舟山港股份有限公司"]
    # An owner the actor may not pick is dropped, as on the page (not an empty export).
    rows = as_dicts(xlsx_rows(export(client, org.huang_qiang, owner=str(org.zhang_wei.pk))))
    assert [r["客户名称"] for r in rows] == ["深圳市大疆创新科技有限公司"]


def test_headers_are_chinese_labels_with_id_and_values_readable(client, org, world):
    rows = xlsx_rows(export(client, org.admin, level="A", sort="id"))
    header = rows[0]
    for label in ("ID", "客户名称", "统一社会信用代码", "客户级别", "客户状态", "省份", "负责人"):
        assert label in header
    first = as_dicts(rows)[0]
    assert first["客户状态"] == "新客户"  # the label, not the stored code
    assert first["手机"] == "138 1234 5678"
    assert first["联系人"] == "王建国"
    assert first["负责人账号"] == "zhang.wei"
    assert first["部门"] == "华东销售部"
    assert isinstance(first["创建时间"], dt.datetime)


# ---------------------------------------------------------------- field security


def test_marketing_export_masks_phones(client, org, world):
    rows = as_dicts(xlsx_rows(export(client, org.zhao_min, sort="id")))
    hik = next(r for r in rows if r["客户名称"].startswith("杭州"))
    assert hik["手机"] == "138****5678"
    assert hik["邮箱"] == "wjg@hik.com"  # not ruled for marketing
    audit = AuditEntry.objects.filter(action="export", actor=org.zhao_min).get()
    assert "contact_mobile" in audit.changes["masked"]


def test_hidden_field_is_not_exported(client, org, world):
    FieldRule.objects.create(
        role=org.roles["marketing"], entity="customer", field="credit_code", access="hidden"
    )
    FieldRule.objects.create(
        role=org.roles["marketing"], entity="contact", field="email", access=FieldAccess.HIDDEN
    )
    header = xlsx_rows(export(client, org.zhao_min))[0]
    assert "统一社会信用代码" not in header
    assert "邮箱" not in header
    assert "客户名称" in header


# ---------------------------------------------------------------- permission


def test_no_export_action_is_403_page_and_api(client, org, world):
    response = export(client, org.zhang_wei)
    assert response.status_code == 403
    assert_error(api_client(org.zhang_wei).get("/exports/customer"), 403)
    assert not AuditEntry.objects.filter(action="export").exists()


def test_unknown_list_is_404(client, org):
    assert export(client, org.admin, entity="nothing").status_code == 404
    assert_error(api_client(org.admin).get("/exports/nothing"), 404)


def test_export_menu_only_for_those_who_may(client, org, world):
    client.force_login(org.zhang_wei)
    assert "我的导出" not in client.get(reverse("customer_list")).content.decode()
    client.force_login(org.li_na)
    page = client.get(reverse("customer_list"), {"level": "A"}).content.decode()
    assert 'data-export-format="xlsx"' in page
    assert "/exports/customer/?level=A&amp;format=xlsx" in page


def test_old_customer_export_address_works(client, org, world):
    client.force_login(org.admin)
    response = client.get(reverse("customer_export"), {"format": "csv"})
    assert response.status_code == 200
    assert len(csv_rows(response)) == 4


# ---------------------------------------------------------------- escaping, audit, csv


def test_formula_payloads_are_escaped_in_xlsx_and_csv(client, org):
    payloads = [p for p in PAYLOADS.read_text(encoding="utf-8").splitlines() if p.strip()]
    payloads += ["-1+2", "+86 10 1234", "@foo", "\tSUM(1)", "\r=1+1", "普通备注"]
    for i, payload in enumerate(payloads):
        customer = make_customer(org.admin, f"客户{i:02d}")
        # Stored as is (the form would trim the leading tab / carriage return).
        Customer.objects.filter(pk=customer.pk).update(notes=payload)
    rows = as_dicts(xlsx_rows(export(client, org.admin, sort="name")))
    by_name = {r["客户名称"]: r["备注"] for r in rows}
    for i, payload in enumerate(payloads):
        expected = "'" + payload if payload[0] in "=+-@\t\r" else payload
        # XML readers turn a carriage return into a line feed.
        assert by_name[f"客户{i:02d}"] == expected.replace("\r", "\n")
    content = b"".join(export(client, org.admin, sort="name").streaming_content)
    sheet = load_workbook(io.BytesIO(content)).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    csv_notes = [r["备注"] for r in as_dicts(csv_rows(export(client, org.admin, format="csv")))]
    assert len(csv_notes) == len(payloads)
    for note in csv_notes:
        assert not note.startswith(("=", "+", "-", "@", "\t", "\r")), note


def test_cell_escape_rules():
    assert cell_escape("=1+1") == "'=1+1"
    assert cell_escape("张三") == "张三"
    assert cell_value(True) == "是"
    assert cell_value(None) is None
    assert cell_value(["a", "b"]) == "a、b"


def test_audit_entry_says_who_what_filters_rows(client, org, world):
    export(client, org.li_na, level="A", format="csv")
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == org.li_na
    assert entry.entity == "customer"
    assert entry.changes["filters"] == {"level": "A"}
    assert entry.changes["rows"] == 1
    assert entry.changes["format"] == "csv"


def test_csv_is_utf8_with_bom_for_chinese_excel(client, org, world):
    make_customer(org.admin, "𠮷野家（上海）餐饮有限公司", notes='逗号,引号"换行\n都在')
    response = export(client, org.admin, format="csv", sort="name")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = as_dicts(csv_rows(response))
    row = next(r for r in rows if r["客户名称"].startswith("𠮷"))
    assert row["备注"] == '逗号,引号"换行\n都在'
    assert rows[0]["ID"].isdigit()


# ---------------------------------------------------------------- other lists


def test_contact_followup_task_exports(client, org, world):
    from crm.activities.services import followup_create, task_create

    followup_create(
        actor=org.zhang_wei,
        customer=world["east"],
        kind="call",
        content='=HYPERLINK("x")',
        next_action="报价",
    )
    task_create(actor=org.zhang_wei, title="发报价单", customer=world["east"])
    client.force_login(org.li_na)
    contacts = as_dicts(xlsx_rows(client.get(reverse("export", args=["contact"]))))
    assert [c["姓名"] for c in contacts] == ["王建国"]
    assert contacts[0]["客户"] == "杭州海康威视数字技术股份有限公司"
    assert contacts[0]["主要联系人"] == "是"
    followups = as_dicts(xlsx_rows(client.get(reverse("export", args=["followup"]))))
    assert followups[0]["跟进内容"] == '\'=HYPERLINK("x")'
    assert followups[0]["客户"] == "杭州海康威视数字技术股份有限公司"
    tasks = as_dicts(xlsx_rows(client.get(reverse("export", args=["task"]), {"status": "all"})))
    assert [t["标题"] for t in tasks] == ["发报价单"]
    assert tasks[0]["状态"] == "未完成"


def test_every_registered_list_has_id_first(org):
    for entity in ("customer", "contact", "followup", "task"):
        spec = export_get(entity)
        assert spec is not None
        assert spec.columns_for(org.admin)[0].label == "ID"


# ---------------------------------------------------------------- big exports


def test_big_export_runs_in_the_worker_and_notifies(
    client, org, world, settings, django_capture_on_commit_callbacks
):
    settings.CRM_EXPORT_SYNC_ROWS = 1
    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("export", args=["customer"]), {"format": "xlsx"})
    assert response.status_code == 302
    assert response["Location"] == reverse("export_job_list")
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.DONE
    assert job.rows == 3 and job.expected_rows == 3
    note = Notification.objects.get(user=org.admin, kind="export_ready")
    assert "3 行" in note.title
    entry = AuditEntry.objects.get(action="export")
    assert entry.changes["rows"] == 3 and entry.changes["job"] == job.pk

    page = client.get(reverse("export_job_list")).content.decode()
    assert reverse("export_job_download", args=[job.pk]) in page
    download = client.get(reverse("export_job_download", args=[job.pk]))
    assert download.status_code == 200
    assert len(xlsx_rows(download)) == 4

    # Someone else's file is a 404, page and API alike.
    client.force_login(org.li_na)
    assert client.get(reverse("export_job_download", args=[job.pk])).status_code == 404
    assert_error(api_client(org.li_na).get(f"/export-jobs/{job.pk}"), 404)


def test_big_export_rechecks_rights_in_the_worker(org, world, settings):
    from crm.exports.services import export_job_run

    job = ExportJob.objects.create(
        user=org.zhang_wei, entity="customer", format="csv", params={}, file_name="x.csv"
    )
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert not job.file_path
    assert Notification.objects.filter(user=org.zhang_wei, kind="export_ready").exists()


def test_prune_removes_old_files(org, world, settings, django_capture_on_commit_callbacks):
    from crm.exports.services import export_start, exports_dir

    settings.CRM_EXPORT_SYNC_ROWS = 0
    with django_capture_on_commit_callbacks(execute=True):
        started = export_start(actor=org.admin, entity="customer", fmt="csv", query={})
    job = ExportJob.objects.get(pk=started.job.pk)
    path = exports_dir() / job.file_path
    assert path.is_file()
    assert exports_prune(now=job.created_at + dt.timedelta(days=1)) == 0
    assert exports_prune(now=job.created_at + dt.timedelta(days=8)) == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED and not path.exists()


# ---------------------------------------------------------------- API


def test_api_export_file_job_and_errors(org, world, settings, django_capture_on_commit_callbacks):
    api = api_client(org.li_na)
    response = api.get("/exports/customer", {"format": "csv", "level": "A"})
    assert response.status_code == 200
    assert response["X-Export-Rows"] == "1"
    assert [r["客户名称"] for r in as_dicts(csv_rows(response))] == [
        "杭州海康威视数字技术股份有限公司"
    ]
    response = api.get("/exports/customer")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert_error(api.get("/exports/customer", {"format": "pdf"}), 422, "format")

    settings.CRM_EXPORT_SYNC_ROWS = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = api.get("/exports/customer", {"format": "csv"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    detail = api.get(f"/export-jobs/{body['id']}").json()
    assert detail["status"] == "done" and detail["rows"] == 2
    assert api.get("/export-jobs").json()[0]["id"] == body["id"]
    file = api.get(detail["download"])
    assert file.status_code == 200
    assert len(csv_rows(file)) == 3


def test_export_streams_without_loading_everything(org, settings, django_assert_max_num_queries):
    """Rows are read in batches: the number of queries grows with batches, not rows."""
    from crm.exports.services import BATCH, export_start

    for i in range(5):
        make_customer(org.admin, f"批量客户{i}", contacts=[{"name": f"联系人{i}"}])
    started = export_start(actor=org.admin, entity="customer", fmt="csv", query={})
    assert started.stream is not None
    assert BATCH >= 1000
    with django_assert_max_num_queries(12):
        rows = list(started.stream.values())
    assert len(rows) == Customer.objects.count()
