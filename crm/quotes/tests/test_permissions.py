"""Who sees and changes quotes: 华南 cannot see 华东's quotes anywhere (404, like a missing
one); managers read their team's; finance reads all, changes none; marketing sees none."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crm.quotes import selectors
from crm.quotes.tests import factories as f


@pytest.fixture
def world(org):
    items = f.catalogue(org.admin)
    cust = f.customer(org.zhang_wei)
    quote = f.quote(org.zhang_wei, cust, items)
    return {"items": items, "cust": cust, "quote": quote}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


PAGES = [
    "/quotes/{pk}/",
    "/quotes/{pk}/edit/",
    "/quotes/{pk}/print/",
    "/quotes/{pk}/revisions/",
    "/quotes/{pk}/revisions/1/",
    "/quotes/{pk}/revisions/compare/?a=1&b=1",
]


@pytest.mark.parametrize("url", PAGES)
def test_other_region_rep_gets_404_on_every_page(org, world, url):
    c = client_for(org.wang_fang)
    assert c.get(url.format(pk=world["quote"].pk)).status_code == 404
    # …exactly like a quote that does not exist.
    assert c.get(url.format(pk=999999)).status_code == 404


def test_other_region_rep_cannot_list_search_or_change(org, world):
    q = world["quote"]
    c = client_for(org.wang_fang)
    page = c.get("/quotes/")
    assert page.status_code == 200
    assert q.number not in page.content.decode()
    assert c.get(f"/customers/{world['cust'].pk}/quotes/").status_code == 404
    assert c.post(f"/quotes/{q.pk}/status/", {"status": "sent"}).status_code == 404
    assert c.post(f"/quotes/{q.pk}/delete/").status_code == 404
    assert not selectors.quote_list(actor=org.wang_fang).items


def test_other_region_rep_gets_404_from_the_api(org, world):
    q = world["quote"]
    c = client_for(org.wang_fang)
    for url in (
        f"/api/v1/quotes/{q.pk}",
        f"/api/v1/quotes/{q.pk}/revisions",
        f"/api/v1/quotes/{q.pk}/revisions/1",
    ):
        r = c.get(url)
        assert r.status_code == 404, url
        assert r.json() == {"detail": "记录不存在或您无权查看", "errors": []}
    assert c.get("/api/v1/quotes").json()["items"] == []
    r = c.patch(
        f"/api/v1/quotes/{q.pk}",
        data=json.dumps({"version": q.version, "title": "x"}),
        content_type="application/json",
    )
    assert r.status_code == 404
    r = c.post(
        f"/api/v1/quotes/{q.pk}/status",
        data=json.dumps({"status": "sent"}),
        content_type="application/json",
    )
    assert r.status_code == 404


def test_manager_reads_team_quotes_but_does_not_edit(org, world):
    q = world["quote"]
    c = client_for(org.li_na)
    page = c.get(f"/quotes/{q.pk}/")
    assert page.status_code == 200
    assert "修改报价" not in page.content.decode()
    assert c.get(f"/quotes/{q.pk}/edit/").status_code == 404
    r = c.patch(
        f"/api/v1/quotes/{q.pk}",
        data=json.dumps({"version": q.version, "title": "x"}),
        content_type="application/json",
    )
    assert r.status_code == 403
    # 华南's manager sees nothing of 华东.
    assert client_for(org.huang_qiang).get(f"/quotes/{q.pk}/").status_code == 404
    # The director above both sees it.
    assert client_for(org.director).get(f"/quotes/{q.pk}/").status_code == 200


def test_finance_reads_all_quotes_read_only(org, world):
    q = world["quote"]
    c = client_for(org.liu_yang)
    assert c.get(f"/quotes/{q.pk}/").status_code == 200
    assert c.get(f"/quotes/{q.pk}/print/").status_code == 200
    assert c.get(f"/quotes/{q.pk}/edit/").status_code == 404
    r = c.post(
        f"/api/v1/quotes/{q.pk}/status",
        data=json.dumps({"status": "sent"}),
        content_type="application/json",
    )
    assert r.status_code == 403
    assert c.get("/quotes/new/", {"customer": world["cust"].pk}).status_code == 404


def test_marketing_and_service_see_no_quotes(org, world):
    for user in (org.zhao_min, org.chen_jing):
        c = client_for(user)
        assert c.get("/quotes/").status_code == 404
        assert c.get(f"/quotes/{world['quote'].pk}/").status_code == 404
        assert c.get("/api/v1/quotes").json()["items"] == []


def test_field_rule_on_total_masks_every_amount(org, world):
    from crm.access.models import FieldRule

    FieldRule.objects.create(
        role=org.roles["finance"], entity="quote", field="total", access="masked"
    )
    q = world["quote"]
    c = client_for(org.liu_yang)
    body = c.get(f"/quotes/{q.pk}/").content.decode()
    assert "268,000" not in body and "****" in body
    data = c.get(f"/api/v1/quotes/{q.pk}").json()
    assert data["total"] == "****"
    assert {x["unit_price"] for x in data["lines"]} == {"****"}
    assert "268,000" not in c.get(f"/quotes/{q.pk}/print/").content.decode()


def test_only_admins_reach_product_and_price_list_administration(org, world):
    rep = client_for(org.zhang_wei)
    assert rep.get("/products/").status_code == 200  # the catalogue is for everyone
    for url in ("/products/new/", "/price-lists/", "/admin/quote-settings/"):
        assert rep.get(url).status_code == 404, url
    r = rep.post(
        "/api/v1/products",
        data=json.dumps({"code": "X", "name": "x"}),
        content_type="application/json",
    )
    assert r.status_code == 403
    admin = client_for(org.admin)
    for url in ("/products/new/", "/price-lists/", "/admin/quote-settings/"):
        assert admin.get(url).status_code == 200, url
