"""Contract and payment exports: the list's rows, money only as field security allows."""

from __future__ import annotations

import io
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm.access.models import FieldRule
from crm.contracts import services
from crm.contracts.tests.factories import active_contract, contract_of, customer_of


def rows(user, entity, **params) -> list[dict]:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("export", args=[entity]), {"format": "xlsx", **params})
    assert response.status_code == 200, response.content[:300]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(values[0], r, strict=True)) for r in values[1:]]


def test_finance_exports_contracts_with_balances(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="300000")
    services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "120000"})
    contract_of(org.wang_fang, customer_of(org.wang_fang), signed_on="2026-03-01")
    exported = rows(org.liu_yang, "contract")
    assert len(exported) == 2
    row = next(r for r in exported if r["合同编号"] == c.number)
    assert row["客户"] == c.customer.name and row["状态"] == "执行中"
    assert Decimal(str(row["合同金额"])) == Decimal("300000")
    assert Decimal(str(row["已回款"])) == Decimal("120000")
    assert Decimal(str(row["未收余额"])) == Decimal("180000")
    # The list page's filters apply.
    assert [r["合同编号"] for r in rows(org.liu_yang, "contract", status="active")] == [c.number]


def test_manager_export_masks_amounts_under_a_rule_and_stays_in_scope(org):
    contract_of(org.zhang_wei, amount="880000")
    contract_of(org.wang_fang, customer_of(org.wang_fang))
    FieldRule.objects.create(
        role=org.roles["sales_manager"], entity="contract", field="amount", access="masked"
    )
    [row] = rows(org.li_na, "contract")
    assert row["合同金额"] == "****" and row["未收余额"] == "****"


def test_export_needs_the_export_action(org):
    contract_of(org.zhang_wei)
    for user in (org.zhang_wei, org.chen_jing):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("export", args=["contract"])).status_code in (403, 404)


def test_finance_exports_payments(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    services.payment_create(
        actor=org.liu_yang, contract=c, data={"amount": "40000", "reference": "ICBC-9"}
    )
    [row] = rows(org.liu_yang, "payment")
    assert row["合同编号"] == c.number and row["凭证号"] == "ICBC-9"
    assert Decimal(str(row["回款金额"])) == Decimal("40000")
