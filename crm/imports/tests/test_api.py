"""/api/v1/imports: upload, mapping, dry run, run, report, rollback; 403 / 404 / 422."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.customers.models import Customer
from crm.imports.tests.conftest import csv_bytes, grant_import

pytestmark = pytest.mark.django_db

ROWS = [
    ["客户名称", "联系人", "手机", "客户级别"],
    ["接口测试甲有限公司", "王先生", "13812341234", "A"],
    ["接口测试乙有限公司", "那个做建材的老李", "13812345678", "B"],
]


def _client(client, user):
    client.force_login(user)
    return client


def _upload(c, rows=ROWS, name="a.csv", **fields):
    data = {
        "entity": "customer",
        **fields,
        "file": SimpleUploadedFile(name, csv_bytes(rows), content_type="text/csv"),
    }
    return c.post("/api/v1/imports", data)


def test_the_whole_flow(client, org, django_capture_on_commit_callbacks):
    c = _client(client, org.admin)
    entities = c.get("/api/v1/imports/entities").json()
    assert {e["key"] for e in entities} >= {"customer", "contact", "followup"}
    r = _upload(c, migration="试点")
    assert r.status_code == 201, r.content
    batch = r.json()
    assert batch["headers"] == ROWS[0]
    assert batch["mapping"] == {
        "0": "name",
        "1": "contact.name",
        "2": "contact.mobile",
        "3": "level",
    }
    assert batch["status"] == "uploaded" and batch["source_rows"] == 2
    bid = batch["id"]
    r = c.put(
        f"/api/v1/imports/{bid}/mapping",
        {"mapping": batch["mapping"], "where": ["level=A,B"]},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["where"] == ["level=A,B"]
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"/api/v1/imports/{bid}/dry-run")
    assert r.status_code == 202
    assert c.get(f"/api/v1/imports/{bid}").json()["status"] == "checked"
    report = c.get(f"/api/v1/imports/{bid}/report").json()
    assert report["dry_run"] is True and report["batch"] == bid
    assert report["summary"] == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "merged": 0,
        "duplicates": 0,
        "rejected": 1,
        "skipped": 0,
    }
    assert not Customer.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(f"/api/v1/imports/{bid}/run").status_code == 202
    detail = c.get(f"/api/v1/imports/{bid}").json()
    assert detail["status"] == "done" and detail["progress"] == 100
    report = c.get(f"/api/v1/imports/{bid}/report").json()
    assert report["dry_run"] is False
    row = report["rows"][0]
    assert row["row"] == 2 and row["action"] == "create" and row["values"]["contact.name"] == "王"
    assert set(row) >= {"row", "action", "values", "messages"}
    rejected = c.get(f"/api/v1/imports/{bid}/report?action=reject").json()["rows"]
    assert [r["row"] for r in rejected] == [3] and "那个做建材的老李" in rejected[0]["messages"][0]
    xlsx = c.get(f"/api/v1/imports/{bid}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    rec = c.get("/api/v1/imports/migrations/试点/reconciliation").json()
    assert rec["totals"]["source_rows"] == 2 and rec["totals"]["created"] == 1
    assert c.get("/api/v1/imports").json()["items"][0]["id"] == bid
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(f"/api/v1/imports/{bid}/rollback").status_code == 202
    assert c.get(f"/api/v1/imports/{bid}").json()["status"] == "rolled_back"
    assert not Customer.objects.exists()


def test_bad_file_is_422_on_file(client, org):
    c = _client(client, org.admin)
    r = c.post(
        "/api/v1/imports",
        {
            "entity": "customer",
            "file": SimpleUploadedFile("a.xlsx", b"%PDF-1.4 fake", content_type="application/pdf"),
        },
    )
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "file" and "PDF" in body["errors"][0]["message"]


def test_no_import_right_is_403(client, org):
    c = _client(client, org.zhang_wei)
    assert _upload(c).status_code == 403
    assert c.get("/api/v1/imports/entities").json() == []


def test_other_users_batch_is_404(client, org):
    grant_import(org.roles["sales_rep"], "customer")
    c = _client(client, org.zhang_wei)
    bid = _upload(c).json()["id"]
    c.force_login(org.wang_fang)
    for method, path in [
        ("get", f"/api/v1/imports/{bid}"),
        ("get", f"/api/v1/imports/{bid}/report"),
        ("post", f"/api/v1/imports/{bid}/run"),
        ("post", f"/api/v1/imports/{bid}/rollback"),
    ]:
        assert getattr(c, method)(path).status_code == 404, path
    # the manager of the team sees the batch but may not run it
    c.force_login(org.li_na)
    assert c.get(f"/api/v1/imports/{bid}").status_code == 200
    assert c.post(f"/api/v1/imports/{bid}/run").status_code == 404


def test_mapping_errors(client, org):
    c = _client(client, org.admin)
    batch = _upload(c).json()
    bid = batch["id"]
    bad = {"mapping": {"0": "name", "1": "name"}}
    r = c.put(f"/api/v1/imports/{bid}/mapping", bad, content_type="application/json")
    assert r.status_code == 422 and "多个列" in r.json()["detail"]
    r = c.put(
        f"/api/v1/imports/{bid}/mapping", {"mapping": {"0": ""}}, content_type="application/json"
    )
    assert r.status_code == 422 and "客户名称" in r.json()["detail"]
    r = c.put(
        f"/api/v1/imports/{bid}/mapping",
        {"mapping": {"0": "nonsense"}},
        content_type="application/json",
    )
    assert r.status_code == 422


def test_templates(client, org):
    c = _client(client, org.admin)
    batch = _upload(c).json()
    c.put(
        f"/api/v1/imports/{batch['id']}/mapping",
        {"mapping": batch["mapping"], "template_name": "旧系统"},
        content_type="application/json",
    )
    templates = c.get("/api/v1/imports/templates?entity=customer").json()
    assert templates[0]["name"] == "旧系统" and templates[0]["mapping"]["客户名称"] == "name"
    again = _upload(c, template_id=templates[0]["id"]).json()
    assert again["mapping_sources"]["0"] == "映射模板"
    assert c.delete(f"/api/v1/imports/templates/{templates[0]['id']}").status_code == 204
    # A NUL character (PostgreSQL cannot store or compare it) is a 422 on the field.
    r = c.get("/api/v1/imports/templates?entity=cust%00omer")
    assert r.status_code == 422 and "entity" in r.content.decode()
    r = c.get("/api/v1/imports/migrations/a%00b/reconciliation")
    assert r.status_code in (404, 422)


def test_background_work_notifies_the_user(client, org, django_capture_on_commit_callbacks):
    from crm.notifications.models import Notification

    c = _client(client, org.admin)
    bid = _upload(c).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        c.post(f"/api/v1/imports/{bid}/run")
    note = Notification.objects.get(user=org.admin, kind="import_done")
    assert (
        "导入完成" in note.title and "新建 1" in note.body and note.url.endswith(f"/imports/{bid}/")
    )
