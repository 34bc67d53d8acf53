"""/api/v1/products and /api/v1/quotes: shapes, revisions, versions, errors (field + reason)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crm.quotes.tests import factories as f


@pytest.fixture
def world(org):
    items = f.catalogue(org.admin)
    cust = f.customer(org.zhang_wei)
    return {"items": items, "cust": cust}


def api(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c, url, body):
    return c.post(url, data=json.dumps(body), content_type="application/json")


def patch(c, url, body):
    return c.patch(url, data=json.dumps(body), content_type="application/json")


def test_products_list_create_update(org, world):
    admin = api(org.admin)
    r = post(
        admin,
        "/api/v1/products",
        {"code": "SEN-LDS30", "name": "激光位移传感器", "unit": "只", "list_price": "4800.00"},
    )
    assert r.status_code == 201, r.content
    product = r.json()
    assert product["list_price"] == "4800.00" and product["tax_rate"] == "13.00"
    r = patch(
        admin,
        f"/api/v1/products/{product['id']}",
        {"version": product["version"], "list_price": "4600"},
    )
    assert r.status_code == 200 and r.json()["list_price"] == "4600.00"
    r = patch(
        admin, f"/api/v1/products/{product['id']}", {"version": product["version"], "name": "x"}
    )
    assert r.status_code == 409
    r = patch(
        admin,
        f"/api/v1/products/{product['id']}",
        {"version": product["version"] + 1, "is_active": False},
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = post(admin, "/api/v1/products", {"code": "SEN-LDS30", "name": "dup"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "code"
    rep = api(org.zhang_wei)
    listing = rep.get("/api/v1/products", {"active": "true"}).json()
    assert "SEN-LDS30" not in [p["code"] for p in listing["items"]]
    assert len(listing["items"]) == 4


def test_products_price_for_a_price_list(org, world):
    from crm.quotes import services

    dealer = services.pricelist_create(actor=org.admin, data={"name": "经销商价格表"})
    services.pricelist_item_set(
        actor=org.admin, price_list=dealer, product=world["items"]["cnc"], price="230000"
    )
    items = api(org.zhang_wei).get("/api/v1/products", {"price_list": dealer.pk}).json()["items"]
    by_code = {p["code"]: p for p in items}
    assert by_code["CNC-VMC850"]["price"] == "230000.00"
    assert by_code["CNC-VMC850"]["prices"][0]["price_list"] == "经销商价格表"
    assert by_code["ROB-IR20"]["price"] == "186000.00"  # not in the list: the list price
    r = api(org.zhang_wei).get("/api/v1/products", {"price_list": 999999})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price_list"


def test_quote_lifecycle_over_the_api(org, world):
    c = api(org.zhang_wei)
    items = world["items"]
    r = post(
        c,
        "/api/v1/quotes",
        {
            "customer_id": world["cust"].pk,
            "title": "二期产线报价",
            "lines": [
                {"product_id": items["cnc"].pk, "quantity": "2"},
                {"name": "运输与保险", "quantity": "1", "unit_price": "3000", "tax_rate": "9"},
            ],
            "discount_pct": "3",
        },
    )
    assert r.status_code == 201, r.content
    q = r.json()
    assert q["number"].startswith("BJ-") and q["revision"] == 1 and q["status"] == "draft"
    assert [x["name"] for x in q["lines"]] == ["VMC850 立式加工中心", "运输与保险"]
    assert q["totals"]["subtotal"] == "539000.00"
    assert q["totals"]["discount_amount"] == "16170.00"
    assert q["total"] == "522830.00"
    assert q["totals"]["total_in_words"] == "伍拾贰万贰仟捌佰叁拾元整"
    assert len(q["revisions"]) == 1

    # PATCH = a new revision: change the machine's price, keep the other line.
    lines = [
        {
            "id": q["lines"][0]["id"],
            "product_id": items["cnc"].pk,
            "quantity": "2",
            "unit_price": "255000",
        },
        {
            "id": q["lines"][1]["id"],
            "name": "运输与保险",
            "quantity": "1",
            "unit_price": "3000",
            "tax_rate": "9",
        },
    ]
    r = patch(
        c,
        f"/api/v1/quotes/{q['id']}",
        {"version": q["version"], "lines": lines, "note": "客户议价"},
    )
    assert r.status_code == 200, r.content
    q2 = r.json()
    assert q2["revision"] == 2
    newest = q2["revisions"][0]
    assert newest["number"] == 2 and newest["note"] == "客户议价" and newest["created_by"]
    change = newest["changes"]["lines_changed"][0]["changes"]["unit_price"]
    assert change == ["268000.00", "255000.00"]

    # The old version number is stale now.
    r = patch(c, f"/api/v1/quotes/{q['id']}", {"version": q["version"], "title": "新标题"})
    assert r.status_code == 409
    assert r.json()["current"]["version"] == q2["version"]

    # Header-only patch keeps the lines.
    r = patch(
        c, f"/api/v1/quotes/{q['id']}", {"version": q2["version"], "title": "二期产线报价（修订）"}
    )
    assert r.status_code == 200 and r.json()["revision"] == 3
    assert len(r.json()["lines"]) == 2

    revs = c.get(f"/api/v1/quotes/{q['id']}/revisions").json()
    assert [x["number"] for x in revs] == [3, 2, 1]
    first = c.get(f"/api/v1/quotes/{q['id']}/revisions/1").json()
    assert first["lines"][0]["unit_price"] == "268000.00"
    assert first["header"]["title"] == "二期产线报价"
    assert c.get(f"/api/v1/quotes/{q['id']}/revisions/9").status_code == 404

    r = post(c, f"/api/v1/quotes/{q['id']}/status", {"status": "sent"})
    assert r.status_code == 200 and r.json()["status"] == "sent"
    r = post(c, f"/api/v1/quotes/{q['id']}/status", {"status": "draftish"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"

    listing = c.get("/api/v1/quotes", {"status": "sent"}).json()
    assert [x["id"] for x in listing["items"]] == [q["id"]]
    assert c.get("/api/v1/quotes", {"customer": world["cust"].pk}).json()["items"]
    assert c.delete(f"/api/v1/quotes/{q['id']}").status_code == 204
    assert c.get(f"/api/v1/quotes/{q['id']}").status_code == 404


def test_create_from_an_opportunity_takes_its_products(org, world):
    from crm.quotes import services

    opp = f.opportunity(org.zhang_wei, world["cust"])
    services.opportunity_product_add(
        actor=org.zhang_wei, opportunity=opp, product=world["items"]["robot"], quantity="2"
    )
    r = post(api(org.zhang_wei), "/api/v1/quotes", {"opportunity_id": opp.pk})
    assert r.status_code == 201, r.content
    q = r.json()
    assert q["customer_id"] == world["cust"].pk and q["opportunity_id"] == opp.pk
    assert q["lines"][0]["quantity"] == "2.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"name": "x", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "x", "quantity": "-3", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "x", "quantity": "1", "unit_price": "-1"}]}, "lines.0.unit_price"),
        ({"lines": [{"name": "x", "quantity": "1", "unit_price": "1.001"}]}, "lines.0.unit_price"),
        (
            {"lines": [{"name": "x", "quantity": "1", "unit_price": "1", "discount_pct": "101"}]},
            "lines.0.discount_pct",
        ),
        ({"lines": [{"quantity": "1", "unit_price": "1"}]}, "lines.0.name"),
        ({"lines": [{"product_id": 999999, "quantity": "1"}]}, "lines.0.product"),
        (
            {
                "lines": [
                    {"name": "x", "quantity": "1", "unit_price": "99999999999999"},
                    {"name": "y", "quantity": "9999", "unit_price": "99999999999999"},
                ]
            },
            "lines.1.unit_price",
        ),
        (
            {
                "valid_until": "2001-01-01",
                "lines": [{"name": "x", "quantity": "1", "unit_price": "1"}],
            },
            "valid_until",
        ),
        (
            {"contact_id": 999999, "lines": [{"name": "x", "quantity": "1", "unit_price": "1"}]},
            "contact",
        ),
    ],
)
def test_bad_input_names_field_and_reason(org, world, body, field):
    r = post(api(org.zhang_wei), "/api/v1/quotes", {"customer_id": world["cust"].pk, **body})
    assert r.status_code == 422, r.content
    errors = r.json()["errors"]
    assert errors and errors[0]["field"] == field, errors
    assert errors[0]["message"]


def test_customer_outside_scope_is_a_field_error(org, world):
    r = post(
        api(org.wang_fang),
        "/api/v1/quotes",
        {
            "customer_id": world["cust"].pk,
            "lines": [{"name": "x", "quantity": "1", "unit_price": "1"}],
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "customer_id"
