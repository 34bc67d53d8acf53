"""The contracts and payments API: wiring, the region wall (404), money through field
security (absent when hidden, "****" when masked), plans, payments, hostile input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.access.models import FieldRule
from crm.contracts import services
from crm.contracts.models import Contract
from crm.contracts.tests.factories import (
    active_contract,
    contract_of,
    customer_of,
    open_opportunity,
    won_opportunity,
)
from tests.api.clients import api_client, assert_error, walk_pages

TODAY = timezone.localdate()


@pytest.fixture
def rep(org):
    return api_client(org.zhang_wei)


def test_create_from_won_opportunity_and_read_back(org, rep):
    customer = customer_of(org.zhang_wei)
    opp = won_opportunity(org.zhang_wei, customer, amount="1280000")
    r = rep.post("/contracts", {"opportunity_id": opp.pk, "signed_on": TODAY.isoformat()})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"].startswith(f"HT-{TODAY.year}-")
    assert body["amount"] == "1280000.00"
    assert body["customer_id"] == customer.pk and body["opportunity_id"] == opp.pk
    assert body["status"] == "draft" and body["actions"] == ["submit", "cancel"]
    assert body["outstanding"] == "1280000.00" and body["received"] == "0.00"
    got = rep.get(f"/contracts/{body['id']}").json()
    assert got["name"] == opp.name


def test_create_needs_a_source_and_checks_it(org, rep):
    assert_error(rep.post("/contracts", {"name": "x", "amount": 1}), 422, "customer_id")
    customer = customer_of(org.wang_fang)
    assert_error(
        rep.post("/contracts", {"customer_id": customer.pk, "name": "x", "amount": 1}),
        422,
        "customer_id",
    )
    opp = open_opportunity(org.zhang_wei, customer_of(org.zhang_wei))
    assert_error(rep.post("/contracts", {"opportunity_id": opp.pk}), 422, "opportunity")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "很多"}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": 1e30}, "amount"),
        ({"amount": "1\x00"}, "amount"),
        ({"name": ""}, "name"),
        ({"number": "a b"}, "number"),
        ({"signed_on": "2026-02-30"}, "signed_on"),
        ({"currency": "RMBX"}, "currency"),
        ({"owner_id": 2**62}, "owner_id"),
    ],
)
def test_bad_input_is_422_naming_the_field(org, rep, body, field):
    customer = customer_of(org.zhang_wei)
    payload = {"customer_id": customer.pk, "name": "合同", "amount": "1000", **body}
    assert_error(rep.post("/contracts", payload), 422, field)


def test_amount_as_people_type_it(org, rep):
    customer = customer_of(org.zhang_wei)
    r = rep.post("/contracts", {"customer_id": customer.pk, "name": "框架协议", "amount": "128万"})
    assert r.status_code == 201 and r.json()["amount"] == "1280000.00"


def test_region_wall_is_404_everywhere(org):
    c = active_contract(org.zhang_wei, org.li_na)
    payment = services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "100"})
    south = api_client(org.wang_fang)
    for path in (f"/contracts/{c.pk}", f"/contracts/{c.pk}/plan", f"/payments/{payment.pk}"):
        body = assert_error(south.get(path), 404)
        assert body["detail"] == "记录不存在或您无权查看"
    assert_error(south.patch(f"/contracts/{c.pk}", {"version": c.version, "notes": "x"}), 404)
    assert_error(south.delete(f"/contracts/{c.pk}"), 404)
    assert_error(south.post(f"/contracts/{c.pk}/close", {}), 404)
    assert_error(south.delete(f"/payments/{payment.pk}"), 404)
    assert south.get("/contracts").json()["items"] == []
    assert south.get("/payments").json()["items"] == []
    assert_error(south.post("/payments", {"contract_id": c.pk, "amount": 1}), 422, "contract_id")
    assert_error(south.get("/contracts/receivable", {"customer": c.customer_id}), 404)


def test_finance_sees_amounts_but_cannot_edit(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="500000")
    finance = api_client(org.liu_yang)
    body = finance.get(f"/contracts/{c.pk}").json()
    assert body["amount"] == "500000.00"
    assert body["actions"] == []
    assert_error(finance.patch(f"/contracts/{c.pk}", {"version": c.version, "notes": "x"}), 403)
    assert_error(finance.post(f"/contracts/{c.pk}/close", {}), 403)
    assert_error(finance.delete(f"/contracts/{c.pk}"), 403)
    listed = finance.get("/contracts").json()
    assert listed["totals"]["amount"] == "500000.00"
    # Finance records payments.
    r = finance.post("/payments", {"contract_id": c.pk, "amount": "100000", "method": "银行转账"})
    assert r.status_code == 201, r.content
    assert r.json()["amount"] == "100000.00"
    receivable = finance.get("/contracts/receivable", {"customer": c.customer_id}).json()
    assert receivable["outstanding"] == "400000.00" and receivable["contracts"] == 1


def test_service_sees_contracts_without_any_money(org):
    c = active_contract(org.zhang_wei, org.li_na)
    services.contract_plan_generate(
        actor=org.zhang_wei, contract=c, expected_version=None, count=2, first_due=TODAY
    )
    p = services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1000"})
    service = api_client(org.chen_jing)
    body = service.get(f"/contracts/{c.pk}").json()
    assert body["name"] == c.name and body["status"] == "active"
    for key in ("amount", "received", "outstanding", "overdue"):
        assert key not in body
    assert body["plan"] == [] and body["attachments"] == []
    assert service.get(f"/contracts/{c.pk}/plan").json() == []
    listed = service.get("/contracts").json()
    assert "totals" not in listed and "amount" not in listed["items"][0]
    payment = service.get(f"/payments/{p.pk}").json()
    assert "amount" not in payment and payment["received_on"]
    assert_error(service.get("/contracts/receivable", {"customer": c.customer_id}), 403)


def test_masked_amount_is_four_stars(org):
    c = contract_of(org.zhang_wei, amount="750000")
    FieldRule.objects.create(
        role=org.roles["sales_manager"], entity="contract", field="amount", access="masked"
    )
    body = api_client(org.li_na).get(f"/contracts/{c.pk}").json()
    assert body["amount"] == "****"
    assert body["outstanding"] == "****"
    listed = api_client(org.li_na).get("/contracts").json()
    assert listed["items"][0]["amount"] == "****" and "totals" not in listed


def test_patch_versioned_and_stale_shows_what_caller_sees(org, rep):
    c = contract_of(org.zhang_wei)
    r = rep.patch(f"/contracts/{c.pk}", {"version": c.version, "name": "新名称", "amount": 1300000})
    assert r.status_code == 200, r.content
    assert r.json()["amount"] == "1300000.00" and r.json()["version"] == c.version + 1
    body = assert_error(rep.patch(f"/contracts/{c.pk}", {"version": c.version, "name": "旧"}), 409)
    assert body["current"]["name"] == "新名称"
    assert body["current"]["amount"] == "1300000.00"
    assert_error(rep.patch(f"/contracts/{c.pk}", {"version": c.version + 1, "name": None}), 422)


def test_status_actions(org, rep):
    c = contract_of(org.zhang_wei)
    r = rep.post(f"/contracts/{c.pk}/submit", {"version": c.version})
    assert r.json()["status"] == "pending_approval"
    assert_error(rep.post(f"/contracts/{c.pk}/activate", {}), 403)
    manager = api_client(org.li_na)
    r = manager.post(f"/contracts/{c.pk}/activate", {})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert_error(rep.post(f"/contracts/{c.pk}/submit", {}), 422, "status")
    assert_error(rep.post(f"/contracts/{c.pk}/cancel", {}), 422, "reason")
    r = rep.post(f"/contracts/{c.pk}/cancel", {"reason": "客户取消"})
    assert r.json()["status"] == "cancelled" and r.json()["status_reason"] == "客户取消"


def test_plan_put_generate_and_sum_check(org, rep):
    c = contract_of(org.zhang_wei, amount="100000")
    r = rep.post(
        f"/contracts/{c.pk}/plan/generate",
        {"version": c.version, "count": 3, "first_due": "2026-01-31"},
    )
    assert r.status_code == 200, r.content
    assert [i["amount"] for i in r.json()] == ["33333.33", "33333.33", "33333.34"]
    assert [i["due_date"] for i in r.json()] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    version = Contract.objects.get(pk=c.pk).version
    bad = {"version": version, "instalments": [{"due_date": "2026-01-01", "amount": "100000.01"}]}
    body = assert_error(rep.put(f"/contracts/{c.pk}/plan", bad), 422, "instalments")
    assert "超过合同金额" in body["detail"]
    good = {
        "version": version,
        "instalments": [
            {"due_date": "2026-01-01", "amount": "30000", "notes": "预付款"},
            {"due_date": "2026-06-01", "amount": "70000"},
        ],
    }
    r = rep.put(f"/contracts/{c.pk}/plan", good)
    assert [(i["seq"], i["amount"], i["notes"]) for i in r.json()] == [
        (1, "30000.00", "预付款"),
        (2, "70000.00", ""),
    ]
    assert_error(rep.put(f"/contracts/{c.pk}/plan", good), 409)
    too_many = {"version": version, "instalments": [{"due_date": "2026-01-01", "amount": 1}] * 61}
    assert_error(rep.put(f"/contracts/{c.pk}/plan", too_many), 422)


def test_payments_create_list_delete(org, rep):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    plans = services.contract_plan_set(
        actor=org.zhang_wei,
        contract=c,
        expected_version=None,
        instalments=[
            {"due_date": TODAY - dt.timedelta(days=5), "amount": "40000"},
            {"due_date": TODAY + dt.timedelta(days=30), "amount": "60000"},
        ],
    )
    r = rep.post(
        "/payments",
        {"contract_id": c.pk, "plan_id": plans[0].pk, "amount": "40000", "reference": "CMB-001"},
    )
    assert r.status_code == 201, r.content
    p = r.json()
    assert (p["plan_seq"], p["amount"], p["received_on"]) == (1, "40000.00", TODAY.isoformat())
    body = assert_error(
        rep.post("/payments", {"contract_id": c.pk, "plan_id": plans[1].pk, "amount": "60000.01"}),
        422,
        "amount",
    )
    assert "¥60,000.00" in body["detail"]
    other = active_contract(org.zhang_wei, org.li_na)
    assert_error(
        rep.post("/payments", {"contract_id": other.pk, "plan_id": plans[1].pk, "amount": 1}),
        422,
        "plan_id",
    )
    items = walk_pages(rep, "/payments", {"contract": c.pk, "limit": 1})
    assert [i["id"] for i in items] == [p["id"]]
    detail = rep.get(f"/contracts/{c.pk}").json()
    assert [i["state"] for i in detail["plan"]] == ["paid", "due_soon"]
    assert detail["received"] == "40000.00" and detail["outstanding"] == "60000.00"
    assert_error(rep.delete(f"/payments/{p['id']}"), 403)  # reps do not undo; finance does
    assert api_client(org.liu_yang).delete(f"/payments/{p['id']}").status_code == 204
    assert rep.get(f"/contracts/{c.pk}").json()["received"] == "0.00"


def test_list_filters_and_pagination(org, rep):
    customer = customer_of(org.zhang_wei)
    for i in range(3):
        contract_of(org.zhang_wei, customer, name=f"第{i}号合同", signed_on=f"2026-0{i + 1}-15")
    contract_of(org.zhang_wei, name="另一个客户的合同")
    assert len(rep.get("/contracts", {"customer": customer.pk}).json()["items"]) == 3
    assert [c["name"] for c in rep.get("/contracts", {"signed": "2026-02"}).json()["items"]] == [
        "第1号合同"
    ]
    assert len(rep.get("/contracts", {"q": "号合同"}).json()["items"]) == 3
    first = rep.get("/contracts", {"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"]
    second = rep.get("/contracts", {"limit": 2, "cursor": first["next"]}).json()
    assert len(second["items"]) == 2 and second["next"] is None
    assert_error(rep.get("/contracts", {"status": "nonsense"}), 422, "status")
    assert_error(rep.get("/contracts", {"signed": "2026-13"}), 422, "signed")
    assert_error(rep.get("/contracts", {"cursor": "garbage!"}), 422, "cursor")
    assert_error(rep.get("/contracts", {"owner": "everyone"}), 422)


def test_delete_to_recycle_bin(org, rep):
    c = contract_of(org.zhang_wei)
    assert rep.delete(f"/contracts/{c.pk}").status_code == 204
    assert_error(rep.get(f"/contracts/{c.pk}"), 404)
    active = active_contract(org.zhang_wei, org.li_na)
    services.payment_create(actor=org.zhang_wei, contract=active, data={"amount": "1"})
    assert_error(rep.delete(f"/contracts/{active.pk}"), 422)


def test_anonymous_is_401():
    from tests.api.clients import ApiClient

    assert ApiClient().get("/contracts").status_code == 401
    assert ApiClient().get("/payments").status_code == 401
