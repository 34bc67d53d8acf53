"""/api/v1/leads: CRUD, filters, status, claim, assign, convert (409 on a duplicate customer
with its id, 409 converting twice), permissions (404 outside scope), field security."""

from __future__ import annotations

import pytest

from crm.access.models import FieldRule
from crm.customers.services import customer_create
from crm.leads.models import Lead
from crm.leads.tests.factories import make_lead, make_rule, pool_lead
from tests.api.clients import api_client, assert_error, walk_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(org):
    return api_client(org.zhang_wei)


def test_create_get_patch_delete(org, rep):
    r = rep.post(
        "/leads",
        {"name": "陈建华", "mobile": "138 1234 5678", "company": "申浦", "province": "上海市"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["mobile"] == "+8613812345678" and body["province"] == "上海"
    assert body["owner_id"] == org.zhang_wei.pk and body["status"] == "new"
    assert body["assignments"][0]["reason"] and body["duplicates"] == []
    lid = body["id"]
    got = rep.get(f"/leads/{lid}").json()
    assert got["id"] == lid
    r = rep.patch(f"/leads/{lid}", {"version": got["version"], "company": "申浦精密"})
    assert r.status_code == 200 and r.json()["company"] == "申浦精密"
    stale = rep.patch(f"/leads/{lid}", {"version": got["version"], "company": "x"})
    body = assert_error(stale, 409)
    assert body["current"]["company"] == "申浦精密"
    r = rep.patch(f"/leads/{lid}", {"version": r.json()["version"], "status": "disqualified"})
    assert_error(r, 422, "reason")
    current = rep.get(f"/leads/{lid}").json()["version"]
    r = rep.patch(
        f"/leads/{lid}", {"version": current, "status": "disqualified", "reason": "没有需求"}
    )
    assert r.status_code == 200 and r.json()["disqualify_reason"] == "没有需求"
    assert rep.delete(f"/leads/{lid}").status_code == 204
    assert_error(rep.get(f"/leads/{lid}"), 404)


def test_create_validation_errors_name_the_field(rep):
    assert_error(rep.post("/leads", {"name": "a", "mobile": "123"}), 422, "mobile")
    assert_error(rep.post("/leads", {"name": "a"}), 422, "mobile")
    assert_error(rep.post("/leads", {"name": "a" * 101, "mobile": "13812345678"}), 422, "name")
    assert_error(rep.post("/leads", {"name": "a\x00", "mobile": "13812345678"}), 422, "name")


def test_duplicate_warning_and_refusal(org, rep):
    first = make_lead(org.wang_fang, mobile="13900001111")
    r = rep.post("/leads", {"name": "b", "mobile": "13900001111"})
    assert r.status_code == 201
    dup = r.json()["duplicates"][0]
    # Another region's lead: who has it, not which one.
    assert dup["id"] is None and dup["owner"] == org.wang_fang.name
    r = rep.post("/leads", {"name": "c", "mobile": "13900001111", "refuse_duplicate": True})
    body = assert_error(r, 409)
    assert body["existing_id"] in (first.pk, Lead.objects.get(name="b").pk)


def test_auto_assign_by_rules(org, rep):
    make_rule("华南", values=["广东"], department=org.south)
    r = api_client(org.zhao_min).post(
        "/leads", {"name": "展会", "mobile": "13812345678", "province": "广东", "auto_assign": True}
    )
    assert r.status_code == 201
    lead = Lead.objects.get(name="展会")
    assert lead.owner == org.wang_fang


def test_rep_sees_own_and_pool_not_other_reps(org, rep):
    mine = make_lead(org.zhang_wei, name="我的")
    theirs = make_lead(org.wang_fang, name="别人的")
    pooled = pool_lead(name="池里的")
    names = {i["name"] for i in walk_pages(rep, "/leads")}
    assert "我的" in names and "别人的" not in names and "池里的" not in names
    names = {i["name"] for i in walk_pages(rep, "/leads", {"owner": "pool"})}
    assert names == {"池里的"}
    assert_error(rep.get(f"/leads/{theirs.pk}"), 404)
    assert_error(rep.patch(f"/leads/{theirs.pk}", {"version": 1, "title": "x"}), 404)
    assert_error(rep.delete(f"/leads/{theirs.pk}"), 404)
    assert_error(rep.post(f"/leads/{theirs.pk}/convert", {}), 404)
    assert rep.get(f"/leads/{pooled.pk}").status_code == 200
    assert rep.get(f"/leads/{mine.pk}").status_code == 200
    # The pool is seen, not edited, until claimed.
    assert_error(rep.patch(f"/leads/{pooled.pk}", {"version": 1, "title": "x"}), 403)
    r = rep.post(f"/leads/{pooled.pk}/claim")
    assert r.status_code == 200 and r.json()["owner_id"] == org.zhang_wei.pk
    assert_error(api_client(org.wang_fang).post(f"/leads/{pooled.pk}/claim"), 404)


def test_manager_sees_team_finance_sees_nothing(org):
    lead = make_lead(org.zhang_wei, name="团队的")
    assert api_client(org.li_na).get(f"/leads/{lead.pk}").status_code == 200
    assert_error(api_client(org.huang_qiang).get(f"/leads/{lead.pk}"), 404)
    r = api_client(org.liu_yang).get("/leads")
    assert r.status_code == 200 and r.json()["items"] == []
    assert api_client(org.zhao_min).get(f"/leads/{lead.pk}").status_code == 200


def test_filters(org, rep):
    make_lead(org.zhang_wei, name="甲", province="上海", source="展会")
    b = make_lead(org.zhang_wei, name="乙", province="江苏")
    from crm.leads.services import lead_status_change

    lead_status_change(actor=org.zhang_wei, lead=b, status="contacted")
    assert [i["name"] for i in walk_pages(rep, "/leads", {"province": "上海"})] == ["甲"]
    assert [i["name"] for i in walk_pages(rep, "/leads", {"source": "展会"})] == ["甲"]
    assert [i["name"] for i in walk_pages(rep, "/leads", {"status": "contacted"})] == ["乙"]
    assert {i["name"] for i in walk_pages(rep, "/leads", {"status": "open"})} == {"甲", "乙"}
    assert [i["name"] for i in walk_pages(rep, "/leads", {"q": "乙"})] == ["乙"]
    assert_error(rep.get("/leads", {"owner": "nobody"}), 422, "owner")
    page = rep.get("/leads", {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next"]


def test_assign_endpoint(org):
    lead = pool_lead()
    r = api_client(org.li_na).post(f"/leads/{lead.pk}/assign", {"owner_id": org.zhang_wei.pk})
    assert r.status_code == 200 and r.json()["owner_id"] == org.zhang_wei.pk
    assert "手动分配" in r.json()["assignments"][0]["reason"]
    r = api_client(org.zhang_wei).post(f"/leads/{lead.pk}/assign", {"owner_id": org.zhang_wei.pk})
    assert_error(r, 403)
    r = api_client(org.li_na).post(f"/leads/{lead.pk}/assign", {"owner_id": org.wang_fang.pk})
    assert_error(r, 403)


def test_convert_endpoint_new_then_twice(org, rep):
    lead = make_lead(org.zhang_wei, company="杭州云帆智能包装有限公司", mobile="13812345678")
    r = rep.post(
        f"/leads/{lead.pk}/convert",
        {"opportunity": {"name": "云帆包装线", "amount": "120000.00"}},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["lead"]["status"] == "converted"
    assert body["customer_id"] and body["contact_id"] and body["opportunity_id"]
    assert body["lead"]["converted_customer_id"] == body["customer_id"]
    again = assert_error(rep.post(f"/leads/{lead.pk}/convert", {}), 409)
    assert again["existing_id"] == body["customer_id"]


def test_convert_409_on_duplicate_with_existing_id_then_link(org, rep):
    existing = customer_create(
        actor=org.zhang_wei, data={"name": "宁波北仑汽配制造有限公司"}, contacts=[]
    )
    lead = make_lead(org.zhang_wei, company="宁波北仑汽配制造有限公司")
    body = assert_error(rep.post(f"/leads/{lead.pk}/convert", {}), 409)
    assert body["existing_id"] == existing.pk
    assert Lead.objects.get(pk=lead.pk).status == "new"
    r = rep.post(
        f"/leads/{lead.pk}/convert",
        {"customer": {"id": existing.pk}, "contact": {"mode": "none"}},
    )
    assert r.status_code == 200 and r.json()["customer_id"] == existing.pk
    assert r.json()["contact_id"] is None


def test_convert_duplicate_in_another_region_gives_id_but_not_access(org, rep):
    theirs = customer_create(
        actor=org.wang_fang, data={"name": "深圳宝安模具有限公司"}, contacts=[]
    )
    lead = make_lead(org.zhang_wei, company="深圳宝安模具有限公司")
    body = assert_error(rep.post(f"/leads/{lead.pk}/convert", {}), 409)
    assert body["existing_id"] == theirs.pk
    r = rep.post(f"/leads/{lead.pk}/convert", {"customer": {"id": theirs.pk}})
    assert_error(r, 422, "customer.id")


def test_convert_bad_contact_mode(org, rep):
    lead = make_lead(org.zhang_wei)
    assert_error(
        rep.post(f"/leads/{lead.pk}/convert", {"contact": {"mode": "link"}}), 422, "contact.id"
    )


def test_field_security_masks_mobile(org):
    FieldRule.objects.create(
        role=org.roles["sales_manager"], entity="lead", field="mobile", access="masked"
    )
    lead = make_lead(org.zhang_wei, mobile="13812345678")
    body = api_client(org.li_na).get(f"/leads/{lead.pk}").json()
    assert body["mobile"] == "138****5678"
    # The masked number cannot be confirmed by searching for it.
    found = api_client(org.li_na).get("/leads", {"q": "13812345678"}).json()["items"]
    assert found == []
