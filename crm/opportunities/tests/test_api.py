"""The API: /pipelines, /opportunities (list with totals, create, get, patch, delete),
/opportunities/{id}/move with the stage rules (422 naming each missing field), contacts,
permissions (another region's opportunity is a 404 everywhere)."""

from __future__ import annotations

import pytest

from crm.opportunities.models import Opportunity, Pipeline
from crm.opportunities.tests.factories import contact, customer, opportunity, stage
from tests.api.clients import api_client, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(org):
    return api_client(org.zhang_wei)


@pytest.fixture
def deal(org):
    return opportunity(org.zhang_wei, customer(org.zhang_wei), name="宏达产线改造", amount=180000)


def test_pipelines_list(org, rep):
    r = rep.get("/pipelines")
    assert r.status_code == 200
    names = [p["name"] for p in r.json()]
    assert "新客户" in names and "续约" in names
    first = r.json()[0]
    assert first["stages"][0]["name"] == "初步接洽"
    assert first["stages"][-1]["kind"] == "lost"


def test_pipelines_admin_create_update(org, rep):
    assert_error(rep.post("/pipelines", {"name": "渠道"}), 403)
    admin = api_client(org.admin)
    r = admin.post(
        "/pipelines",
        {
            "name": "渠道",
            "stages": [
                {
                    "name": "报备",
                    "probability": 20,
                    "required_fields": ["amount"],
                    "checklist": ["渠道协议已签"],
                },
                {"name": "赢单", "kind": "won", "probability": 100},
                {"name": "输单", "kind": "lost", "probability": 0},
            ],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert [s["name"] for s in body["stages"]] == ["报备", "赢单", "输单"]
    first_id = body["stages"][0]["id"]
    r = admin.patch(
        f"/pipelines/{body['id']}",
        {
            "description": "经销商",
            "stages": [
                {"name": "洽谈", "probability": 40},
                {"id": first_id, "name": "报备", "time_limit_days": 10},
            ],
        },
    )
    assert r.status_code == 200, r.content
    names = [s["name"] for s in r.json()["stages"]]
    assert names == ["洽谈", "报备", "赢单", "输单"]
    assert r.json()["stages"][1]["time_limit_days"] == 10
    bad = admin.patch(
        f"/pipelines/{body['id']}", {"stages": [{"name": "x", "required_fields": ["oops"]}]}
    )
    assert_error(bad, 422, "stages.0.required_fields")


def test_create_get_patch_delete(org, rep):
    cust = customer(org.zhang_wei)
    person = contact(org.zhang_wei, cust)
    r = rep.post(
        "/opportunities",
        {
            "customer_id": cust.pk,
            "name": "宏达仓储系统",
            "amount": "960000",
            "expected_close_date": "2027-06-30",
            "contacts": [{"contact_id": person.pk, "role": "决策人"}],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["stage"] == "初步接洽" and body["probability"] == 10
    assert body["contacts"] == [
        {"contact_id": person.pk, "name": "王建国", "title": "", "role": "决策人"}
    ]
    assert body["history"][0]["to_stage"]["name"] == "初步接洽"
    oid = body["id"]
    r = rep.patch(
        f"/opportunities/{oid}",
        {"version": body["version"], "amount": "1000000", "probability": 25},
    )
    assert (
        r.status_code == 200
        and r.json()["amount"] == "1000000.00"
        and r.json()["probability"] == 25
    )
    stale = rep.patch(f"/opportunities/{oid}", {"version": body["version"], "name": "x"})
    assert_error(stale, 409)
    assert stale.json()["current"]["id"] == oid
    assert rep.delete(f"/opportunities/{oid}").status_code == 204
    assert_error(rep.get(f"/opportunities/{oid}"), 404)


def test_create_with_invisible_customer_is_422(org):
    south = customer(org.wang_fang, "广州远航医疗科技有限公司")
    r = api_client(org.zhang_wei).post("/opportunities", {"customer_id": south.pk, "name": "x"})
    assert_error(r, 422, "customer_id")


def test_list_with_filters_and_totals(org, rep, deal):
    opportunity(org.zhang_wei, deal.customer, name="小单", amount=20000)
    r = rep.get("/opportunities")
    body = r.json()
    assert r.status_code == 200
    assert body["totals"] == {"count": 2, "amount": "200000.00", "weighted": "20000.00"}
    r = rep.get("/opportunities", {"amount_min": "100000"})
    assert [o["name"] for o in r.json()["items"]] == ["宏达产线改造"]
    assert r.json()["totals"]["count"] == 1
    r = rep.get("/opportunities", {"limit": 1})
    assert len(r.json()["items"]) == 1 and r.json()["next"]
    first = r.json()["items"][0]["name"]
    # Paging on without the sum: the next row, no totals.
    r = rep.get("/opportunities", {"limit": 1, "totals": "false", "cursor": r.json()["next"]})
    names = [o["name"] for o in r.json()["items"]]
    assert len(names) == 1 and names[0] != first and {first, *names} == {"小单", "宏达产线改造"}
    assert "totals" not in r.json()
    assert_error(rep.get("/opportunities", {"totals": "maybe"}), 422, "totals")
    assert_error(rep.get("/opportunities", {"status": "nope"}), 422, "status")
    assert_error(rep.get("/opportunities", {"cursor": "garbage"}), 422, "cursor")


def test_move_refused_with_field_errors_then_accepted(org, rep, deal):
    target = stage("需求确认")
    first = stage("初步接洽")
    r = rep.post(f"/opportunities/{deal.pk}/move", {"stage_id": target.pk, "version": deal.version})
    body = assert_error(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"expected_close_date", f"checklist.{first.pk}.0"}
    assert "需求确认" in body["detail"]
    r = rep.post(
        f"/opportunities/{deal.pk}/move",
        {
            "stage_id": target.pk,
            "version": deal.version,
            "expected_close_date": "2027-04-30",
            "checklist": [0],
        },
    )
    assert r.status_code == 200, r.content
    assert r.json()["stage"] == "需求确认" and r.json()["probability"] == 20
    assert len(r.json()["history"]) == 2


def test_move_to_lost_needs_reason(org, rep, deal):
    r = rep.post(f"/opportunities/{deal.pk}/move", {"stage_id": stage("输单").pk})
    assert_error(r, 422, "lost_reason")
    r = rep.post(
        f"/opportunities/{deal.pk}/move", {"stage_id": stage("输单").pk, "lost_reason": "预算取消"}
    )
    assert r.status_code == 200 and r.json()["status"] == "lost"


def test_move_to_other_pipeline_stage_is_422(org, rep, deal):
    other = Pipeline.objects.get(name="续约").stages.first()
    assert_error(rep.post(f"/opportunities/{deal.pk}/move", {"stage_id": other.pk}), 422, "stage")


def test_contacts_roles_endpoints(org, rep, deal):
    person = contact(org.zhang_wei, deal.customer, "李工")
    r = rep.put(f"/opportunities/{deal.pk}/contacts/{person.pk}", {"role": "技术评估"})
    assert r.status_code == 200 and r.json()[0]["role"] == "技术评估"
    assert rep.get(f"/opportunities/{deal.pk}/contacts").json()[0]["name"] == "李工"
    assert rep.delete(f"/opportunities/{deal.pk}/contacts/{person.pk}").status_code == 204
    assert rep.get(f"/opportunities/{deal.pk}/contacts").json() == []


def test_checklist_endpoint(org, rep, deal):
    first = stage("初步接洽")
    r = rep.post(f"/opportunities/{deal.pk}/checklist", {"stage_id": first.pk, "index": 0})
    assert r.status_code == 200 and r.json()["checklist_done"] == {str(first.pk): [0]}


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/opportunities/{id}", None),
        ("patch", "/opportunities/{id}", {"version": 1, "name": "x"}),
        ("delete", "/opportunities/{id}", None),
        ("post", "/opportunities/{id}/move", {"stage_id": 0}),
        ("get", "/opportunities/{id}/contacts", None),
        ("post", "/opportunities/{id}/checklist", {"stage_id": 1, "index": 0}),
    ],
)
def test_south_rep_gets_404_on_east_opportunity(org, deal, method, path, data):
    """华南 rep (wang.fang) cannot see 华东 (zhang.wei's) opportunities: 404, never 403."""
    if data and data.get("stage_id") == 0:
        data = {"stage_id": stage("输单").pk, "lost_reason": "x"}
    client = api_client(org.wang_fang)
    url = path.format(id=deal.pk)
    r = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
    assert_error(r, 404)
    assert Opportunity.objects.get(pk=deal.pk).stage.name == "初步接洽"
    listed = client.get("/opportunities").json()
    assert listed["items"] == [] and listed["totals"]["count"] == 0


def test_manager_reads_team_but_cannot_move(org, deal):
    client = api_client(org.li_na)
    assert client.get(f"/opportunities/{deal.pk}").status_code == 200
    assert_error(
        client.post(
            f"/opportunities/{deal.pk}/move", {"stage_id": stage("输单").pk, "lost_reason": "x"}
        ),
        403,
    )


def test_finance_and_marketing_view_all_read_only(org, deal):
    for user in (org.liu_yang, org.zhao_min):
        client = api_client(user)
        assert client.get(f"/opportunities/{deal.pk}").status_code == 200
        assert_error(
            client.patch(f"/opportunities/{deal.pk}", {"version": deal.version, "name": "x"}), 403
        )


def test_service_role_sees_no_opportunities(org, deal):
    client = api_client(org.chen_jing)
    assert_error(client.get(f"/opportunities/{deal.pk}"), 404)


def test_masked_amount_masks_items_and_totals(org, deal):
    from crm.access.models import FieldAccess, FieldRule

    FieldRule.objects.create(
        role=org.roles["finance"], entity="opportunity", field="amount", access=FieldAccess.MASKED
    )
    body = api_client(org.liu_yang).get("/opportunities").json()
    assert body["items"][0]["amount"] == "****"
    assert "weighted_amount" not in body["items"][0]
    assert body["totals"] == {"count": 1, "amount": "****", "weighted": "****"}
    FieldRule.objects.filter(role=org.roles["finance"]).update(access=FieldAccess.HIDDEN)
    body = api_client(org.liu_yang).get("/opportunities").json()
    assert "amount" not in body["items"][0]
    assert body["totals"] == {"count": 1}
