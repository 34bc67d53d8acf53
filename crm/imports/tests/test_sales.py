"""Leads and opportunities through the same engine (their apps' services, row by row)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.customers.services import customer_create
from crm.imports.tests.conftest import by_row, csv_bytes, report_of, run_import

pytestmark = pytest.mark.django_db


def test_leads(org):
    from crm.imports.services import import_rollback, import_rollback_execute
    from crm.leads.models import Lead

    data = csv_bytes(
        [
            ["姓名", "公司", "手机", "邮箱", "省份", "线索来源"],
            ["王先生", "杭州线索科技有限公司", "13811110000(微信同号)", "", "浙江省", "展会"],
            ["李娜", "", "", "lina@example.com", "", ""],
            ["那个做建材的老李", "", "13811112222", "", "", ""],
            ["张伟", "", "", "", "", ""],
            ["王先生", "", "138 1111 0000", "", "", ""],
        ]
    )
    batch = run_import(org.admin, "lead", "l.csv", data)
    rows = by_row(report_of(batch))
    assert [rows[n]["action"] for n in (2, 3, 4, 5, 6)] == [
        "create",
        "create",
        "reject",
        "reject",
        "skip",
    ]
    lead = Lead.objects.get(mobile="+8613811110000")
    assert (lead.name, lead.province, lead.company) == ("王", "浙江", "杭州线索科技有限公司")
    again = run_import(org.admin, "lead", "l.csv", data)
    assert report_of(again)["summary"]["created"] == 0
    import_rollback(actor=org.admin, batch=batch, background=False)
    import_rollback_execute(batch.pk)
    assert not Lead.objects.exists()


def test_opportunities(org):
    from crm.opportunities.models import Opportunity, Stage

    customer_create(actor=org.admin, data={"name": "商机客户有限公司"})
    stage = Stage.objects.filter(kind="open").order_by("pipeline_id", "order").last()
    data = csv_bytes(
        [
            ["客户名称", "商机名称", "金额", "预计成交日期", "阶段"],
            ["商机客户有限公司", "一期项目", "12万", "2027/3/31", stage.name],
            ["商机客户有限公司", "二期项目", "￥80,000", "", ""],
            ["没有的客户", "x", "1", "", ""],
            ["商机客户有限公司", "三期项目", "很多", "", ""],
        ]
    )
    batch = run_import(org.admin, "opportunity", "o.csv", data)
    rows = by_row(report_of(batch))
    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["create", "create", "reject", "reject"]
    first = Opportunity.objects.get(name="一期项目")
    assert first.amount == Decimal("120000.00") and first.stage_id == stage.pk
    assert str(first.expected_close_date) == "2027-03-31"
    again = run_import(org.admin, "opportunity", "o.csv", data)
    assert report_of(again)["summary"]["created"] == 0
