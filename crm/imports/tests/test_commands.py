"""`crm import` and `crm rollback-import` (the contract of the issue)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from crm.customers.models import Customer
from crm.imports.models import ImportBatch
from crm.imports.tests.conftest import csv_bytes, grant_import

pytestmark = pytest.mark.django_db

ROWS = [
    ["客户名称", "联系人", "手机", "客户级别", "省份"],
    ["命令行甲有限公司", "王先生", "13812341234", "A", "浙江省"],
    ["命令行乙有限公司", "李女士", "13812345678", "B", "江苏"],
    ["命令行丙有限公司", "那个做建材的老李", "13812340000", "A", "广东"],
]


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes(ROWS))
    return path


def test_dry_run_then_import_with_report(org, csv_file, tmp_path, capsys):
    out = tmp_path / "dry.json"
    call_command(
        "import", "customers", str(csv_file), "--dry-run", "--report", str(out), verbosity=0
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (
        report["dry_run"] is True
        and report["summary"]["created"] == 2
        and report["summary"]["rejected"] == 1
    )
    assert {r["row"]: r["action"] for r in report["rows"]} == {
        2: "create",
        3: "create",
        4: "reject",
    }
    assert not Customer.objects.exists()
    out2 = tmp_path / "run.json"
    xlsx = tmp_path / "run.xlsx"
    call_command(
        "import",
        "customer",
        str(csv_file),
        "--report",
        str(out2),
        "--report-xlsx",
        str(xlsx),
        verbosity=0,
    )
    report = json.loads(out2.read_text(encoding="utf-8"))
    assert report["summary"]["created"] == 2 and Customer.objects.count() == 2
    assert xlsx.read_bytes()[:2] == b"PK"
    assert set(Customer.objects.values_list("owner__username", flat=True)) == {
        "admin"
    }  # the first administrator
    printed = capsys.readouterr().out
    assert f"batch {report['batch']}" in printed and "created 2" in printed
    call_command("rollback_import", str(report["batch"]), verbosity=0)
    assert not Customer.objects.exists()


def test_where_mapping_and_user(org, csv_file, tmp_path):
    grant_import(org.roles["sales_rep"], "customer")
    mapping = tmp_path / "map.json"
    mapping.write_text(
        json.dumps({"mapping": {"客户级别": ""}, "mode": "update"}), encoding="utf-8"
    )
    out = tmp_path / "r.json"
    call_command(
        "import", "customer", str(csv_file), "--user", "zhang.wei", "--where", "省份=浙江,江苏",
        "--mapping", str(mapping), "--report", str(out), "--migration", "分批", verbosity=0,
    )  # fmt: skip
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["rows"] == 2 and report["left_out"] == 1
    assert set(Customer.objects.values_list("owner__username", "level")) == {("zhang.wei", "")}
    batch = ImportBatch.objects.get(pk=report["batch"])
    assert batch.options["mode"] == "update" and batch.migration == "分批"


def test_refusals_are_command_errors(org, tmp_path, csv_file):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="空"):
        call_command("import", "customer", str(empty), verbosity=0)
    with pytest.raises(CommandError, match="no active user"):
        call_command("import", "customer", str(csv_file), "--user", "nobody", verbosity=0)
    with pytest.raises(CommandError):
        call_command(
            "import", "customer", str(csv_file), "--user", "zhang.wei", verbosity=0
        )  # no import right
    with pytest.raises(CommandError, match="no batch"):
        call_command("rollback_import", "999", verbosity=0)


def test_resume(org, csv_file, monkeypatch):
    from crm.imports import services
    from crm.imports.adapters_customers import CustomerAdapter

    monkeypatch.setattr(services, "CHUNK", 1)
    original = CustomerAdapter.write

    def crash_on_third(self, rows, ctx):
        if rows[0].number == 4:
            raise RuntimeError("killed")
        original(self, rows, ctx)

    monkeypatch.setattr(CustomerAdapter, "write", crash_on_third)
    with pytest.raises(RuntimeError):
        call_command("import", "customer", str(csv_file), verbosity=0)
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and batch.last_row == 3
    monkeypatch.setattr(CustomerAdapter, "write", original)
    call_command("import", "--resume", str(batch.pk), verbosity=0)
    batch.refresh_from_db()
    assert batch.status == "done" and Customer.objects.count() == 2


def test_cli_alias():
    from crm.cli import ALIASES

    assert ALIASES["rollback-import"] == "rollback_import"
