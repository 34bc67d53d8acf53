"""The pages: editor (create, revise), preview totals, detail, history, compare, print, the
fragments on the customer and opportunity pages, products and price lists."""

from __future__ import annotations

import pytest
from django.test import Client

from crm.quotes import services
from crm.quotes.models import Quote, QuoteRevision
from crm.quotes.tests import factories as f


@pytest.fixture
def world(org):
    items = f.catalogue(org.admin)
    cust = f.customer(org.zhang_wei)
    return {"items": items, "cust": cust}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def editor_post(items, **extra):
    data = {
        "title": "二期产线报价",
        "valid_until": "",
        "discount_pct": "0",
        "tax_included": "1",
        "terms": "付款：预付 30%",
        "notes": "",
        "line_id": ["", ""],
        "line_product": [str(items["cnc"].pk), ""],
        "line_name": ["", "运输与保险"],
        "line_description": ["", ""],
        "line_unit": ["", "项"],
        "line_quantity": ["2", "1"],
        "line_unit_price": ["", "3000"],
        "line_discount_pct": ["0", "0"],
        "line_tax_rate": ["", "9"],
    }
    data.update(extra)
    return data


def test_create_quote_from_the_editor(org, world):
    c = client_for(org.zhang_wei)
    page = c.get("/quotes/new/", {"customer": world["cust"].pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert world["cust"].name in html and "quote-line-template" in html
    r = c.post(
        f"/quotes/new/?customer={world['cust'].pk}",
        editor_post(world["items"], customer=world["cust"].pk),
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    q = Quote.objects.get()
    assert r["Location"] == f"/quotes/{q.pk}/"
    assert q.total == 539000
    detail = c.get(r["Location"]).content.decode()
    assert q.number in detail and "伍拾叁万玖仟元整" in detail


def test_editor_keeps_input_and_marks_the_bad_line(org, world):
    c = client_for(org.zhang_wei)
    data = editor_post(world["items"], customer=world["cust"].pk, line_quantity=["2", "0"])
    r = c.post("/quotes/new/", data)
    assert r.status_code == 400
    html = r.content.decode()
    assert "数量必须大于 0" in html
    assert 'value="运输与保险"' in html  # nothing typed is lost
    assert not Quote.objects.exists()


def test_revise_in_the_editor_then_history_and_compare(org, world):
    q = f.quote(org.zhang_wei, world["cust"], world["items"])
    c = client_for(org.zhang_wei)
    form = c.get(f"/quotes/{q.pk}/edit/")
    assert form.status_code == 200
    lines = list(q.lines.order_by("position"))
    data = {
        "title": q.title,
        "contact": "",
        "price_list": "",
        "valid_until": q.valid_until.isoformat(),
        "discount_pct": "0",
        "tax_included": "1",
        "terms": q.terms,
        "notes": "",
        "note": "客户要求降价",
        "version": q.version,
        "line_id": [str(x.pk) for x in lines],
        "line_product": [str(x.product_id) for x in lines],
        "line_name": [x.name for x in lines],
        "line_description": ["", ""],
        "line_unit": [x.unit for x in lines],
        "line_quantity": ["2", "10"],
        "line_unit_price": ["250000", "360"],
        "line_discount_pct": ["0", "0"],
        "line_tax_rate": ["13", "13"],
    }
    r = c.post(f"/quotes/{q.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert QuoteRevision.objects.filter(quote=q).count() == 2
    history = c.get(f"/quotes/{q.pk}/revisions/").content.decode()
    assert "第 2 版" in history and "客户要求降价" in history
    assert "¥268,000.00" in history and "¥250,000.00" in history
    compare = c.get(f"/quotes/{q.pk}/revisions/compare/").content.decode()
    assert "cmp-hl" in compare and "¥250,000.00" in compare
    old = c.get(f"/quotes/{q.pk}/revisions/1/").content.decode()
    assert "历史版本" in old and "268,000.00" in old
    # The same form posted again with the old version: refused, input kept.
    r = c.post(f"/quotes/{q.pk}/edit/", {**data, "line_unit_price": ["240000", "360"]})
    assert r.status_code == 400
    assert "已被他人修改" in r.content.decode()


def test_preview_uses_the_same_totals(org, world):
    c = client_for(org.zhang_wei)
    r = c.post("/quotes/preview/", editor_post(world["items"], discount_pct="10"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "¥485,100.00" in html  # (536000 + 3000) × 0.9
    assert 'data-quote-line-amounts="536,000.00|3,000.00"' in html
    r = c.post("/quotes/preview/", editor_post(world["items"], line_quantity=["-1", "1"]))
    assert "第 1 行" in r.content.decode()


def test_print_view(org, world):
    services.quote_settings_update(
        actor=org.admin,
        values={"company_name": "华信智能装备有限公司", "company_phone": "0512-66668888"},
    )
    q = f.quote(org.zhang_wei, world["cust"], world["items"])
    html = client_for(org.zhang_wei).get(f"/quotes/{q.pk}/print/").content.decode()
    assert "华信智能装备有限公司" in html and "0512-66668888" in html
    assert "伍拾叁万玖仟陆佰元整" in html
    assert "data-print" in html and "quote-print.css" in html
    assert "<script>" not in html  # CSP: no inline script
    assert "cdn" not in html.lower()


def test_status_buttons(org, world):
    q = f.quote(org.zhang_wei, world["cust"], world["items"])
    c = client_for(org.zhang_wei)
    assert "标记为已发送" in c.get(f"/quotes/{q.pk}/").content.decode()
    r = c.post(f"/quotes/{q.pk}/status/", {"status": "sent", "version": q.version})
    assert r.status_code == 302
    q.refresh_from_db()
    assert q.status == "sent"
    r = c.post(f"/quotes/{q.pk}/status/", {"status": "sent", "version": 1}, follow=True)
    assert q.status == "sent"


def test_customer_and_opportunity_fragments(org, world):
    opp = f.opportunity(org.zhang_wei, world["cust"])
    q = services.quote_create(
        actor=org.zhang_wei,
        customer=world["cust"],
        opportunity=opp,
        data={},
        lines=[{"product": world["items"]["cnc"], "quantity": "1"}],
    )
    c = client_for(org.zhang_wei)
    html = c.get(f"/customers/{world['cust'].pk}/quotes/").content.decode()
    assert q.number in html and f"/quotes/new/?customer={world['cust'].pk}" in html
    html = c.get(f"/opportunities/{opp.pk}/quotes/").content.decode()
    assert q.number in html and f"/quotes/new/?opportunity={opp.pk}" in html


def test_opportunity_products_fragment(org, world):
    opp = f.opportunity(org.zhang_wei, world["cust"])
    c = client_for(org.zhang_wei)
    url = f"/opportunities/{opp.pk}/products/"
    html = c.get(url).content.decode()
    assert "添加产品" in html
    r = c.post(
        url,
        {"product": world["items"]["cnc"].pk, "quantity": "2", "unit_price": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="opportunity-products",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "VMC850" in html and "¥536,000.00" in html
    assert "用产品合计更新商机金额" in html
    line = opp.product_lines.get()
    r = c.post(
        f"/opportunity-products/{line.pk}/edit/",
        {"quantity": "1", "unit_price": "260000"},
        HTTP_HX_REQUEST="true",
    )
    assert "¥260,000.00" in r.content.decode()
    r = c.post(
        f"/opportunity-products/{line.pk}/edit/",
        {"quantity": "-1", "unit_price": "260000"},
        HTTP_HX_REQUEST="true",
    )
    assert "数量必须大于 0" in r.content.decode()
    r = c.post(f"/opportunities/{opp.pk}/products/apply-amount/", {"version": opp.version})
    assert r.status_code == 302
    opp.refresh_from_db()
    assert opp.amount == 260000
    r = c.post(
        f"/opportunity-products/{line.pk}/remove/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="opportunity-products",
    )
    assert not opp.product_lines.exists()
    # Someone who cannot see the opportunity gets 404 everywhere.
    other = client_for(org.wang_fang)
    assert other.get(url).status_code == 404
    assert (
        other.post(url, {"product": world["items"]["cnc"].pk, "quantity": "1"}).status_code == 404
    )


def test_product_and_price_list_admin_pages(org, world):
    c = client_for(org.admin)
    r = c.post(
        "/products/new/",
        {
            "code": "SEN-CAM5M",
            "name": "工业相机 5MP",
            "category": "传感器",
            "unit": "台",
            "list_price": "12800",
            "tax_rate": "13",
        },
    )
    assert r.status_code == 302
    r = c.post(
        "/products/new/",
        {"code": "SEN-CAM5M", "name": "dup", "unit": "台", "list_price": "1", "tax_rate": "13"},
    )
    assert r.status_code == 400 and "产品编码已存在" in r.content.decode()
    cnc = world["items"]["cnc"]
    r = c.post(f"/products/{cnc.pk}/active/", {"active": "0", "version": cnc.version})
    assert r.status_code == 302
    cnc.refresh_from_db()
    assert not cnc.is_active
    listing = c.get("/products/").content.decode()
    assert "CNC-VMC850" not in listing and "工业相机" in listing
    assert "CNC-VMC850" in c.get("/products/", {"active": "0"}).content.decode()
    r = c.post("/price-lists/", {"name": "经销商价格表", "currency": "CNY", "is_active": "on"})
    assert r.status_code == 302
    detail_url = r["Location"]
    r = c.post(
        detail_url,
        {
            "action": "item",
            "product": world["items"]["robot"].pk,
            "price": "160000",
            "min_quantity": "2",
        },
    )
    assert r.status_code == 302
    html = c.get(detail_url).content.decode()
    assert "¥160,000.00" in html
    assert "¥160,000.00" in c.get("/products/").content.decode()


def test_settings_page(org):
    c = client_for(org.admin)
    r = c.post(
        "/admin/quote-settings/",
        {
            "number_prefix": "hx",
            "default_validity_days": "15",
            "default_tax_rate": "13",
            "tax_included": "on",
            "company_name": "华信",
        },
    )
    assert r.status_code == 302
    assert services.config.quote_settings()["number_prefix"] == "HX"
    r = c.post(
        "/admin/quote-settings/",
        {"number_prefix": "华信", "default_validity_days": "15", "default_tax_rate": "13"},
    )
    assert r.status_code == 400 and "编号前缀" in r.content.decode()
