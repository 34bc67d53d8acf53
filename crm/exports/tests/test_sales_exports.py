"""Lead, opportunity and quote lists export with the list's filters, within the exporter's
scope, under field rules."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm.access.models import FieldRule
from crm.leads.models import Lead

pytestmark = pytest.mark.django_db


def rows(user, entity, **params) -> list[dict]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("export", args=[entity]), {"format": "xlsx", **params})
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(values[0], r, strict=True)) for r in values[1:]]


def test_manager_exports_her_teams_opportunities_with_filters_and_masked_amounts(org):
    from crm.opportunities.tests.factories import customer, opportunity

    east = customer(org.zhang_wei, "杭州导出测试科技有限公司")
    big = opportunity(org.zhang_wei, east, name="大单", amount=Decimal("900000"))
    opportunity(org.zhang_wei, east, name="小单", amount=Decimal("20000"))
    south = customer(org.wang_fang, "深圳导出测试科技有限公司")
    opportunity(org.wang_fang, south, name="华南的单", amount=Decimal("500000"))

    exported = rows(org.li_na, "opportunity")
    assert sorted(r["商机名称"] for r in exported) == ["大单", "小单"]  # not 华南's
    row = next(r for r in exported if r["商机名称"] == "大单")
    assert row["ID"] == big.pk and row["客户"] == east.name and row["状态"] == "进行中"
    assert Decimal(str(row["金额"])) == Decimal("900000")
    assert [r["商机名称"] for r in rows(org.li_na, "opportunity", amount_min="100000")] == ["大单"]
    FieldRule.objects.create(
        role=org.roles["sales_manager"], entity="opportunity", field="amount", access="masked"
    )
    assert {r["金额"] for r in rows(org.li_na, "opportunity")} == {"****"}


def test_manager_exports_quotes_in_scope_with_the_status_filter(org):
    from crm.quotes.tests.factories import catalogue, customer, quote

    items = catalogue(org.admin)
    mine = quote(org.zhang_wei, customer(org.zhang_wei), items, title="二期报价")
    quote(
        org.wang_fang,
        customer(org.wang_fang, "深圳报价测试有限公司", contacts=[]),
        items,
        title="华南报价",
    )
    exported = rows(org.li_na, "quote")
    assert [r["报价单号"] for r in exported] == [mine.number]
    assert exported[0]["客户"] == mine.customer.name
    assert Decimal(str(exported[0]["总计"])) == mine.total
    assert rows(org.li_na, "quote", status="accepted") == []


def test_leads_export_with_the_list_filters(org):
    Lead.objects.create(name="王先生", company="杭州某公司", owner=org.zhang_wei, source="展会")
    Lead.objects.create(name="李女士", company="宁波某公司", owner=org.zhang_wei, source="官网")
    Lead.objects.create(name="赵总", company="深圳某公司", owner=org.wang_fang, source="展会")
    everyone = rows(org.admin, "lead")
    assert sorted(r["姓名"] for r in everyone) == ["李女士", "王先生", "赵总"]
    assert sorted(r["姓名"] for r in rows(org.admin, "lead", source="展会")) == ["王先生", "赵总"]


def test_a_rep_without_the_export_action_is_refused(org):
    client = Client()
    client.force_login(org.zhang_wei)
    assert client.get(reverse("export", args=["opportunity"])).status_code in (403, 404)
