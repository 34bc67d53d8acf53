"""Products, price lists, opportunity products, quotes, numbering, revisions and statuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from crm.quotes import services
from crm.quotes.models import Quote, QuoteRevision, QuoteSequence, QuoteStatus
from crm.quotes.tests import factories as f
from crm.timeline.models import TimelineEvent

D = Decimal


@pytest.fixture
def items(org):
    return f.catalogue(org.admin)


@pytest.fixture
def cust(org):
    return f.customer(org.zhang_wei)


# ----------------------------------------------------------------- products and prices


def test_only_admins_maintain_products(org):
    with pytest.raises(PermissionDenied):
        f.product(org.zhang_wei)
    product = f.product(org.admin)
    with pytest.raises(PermissionDenied):
        services.product_update(
            actor=org.li_na, product=product, expected_version=1, data={"list_price": "1"}
        )


def test_product_code_unique_and_values_checked(org):
    f.product(org.admin, "A-1")
    with pytest.raises(Conflict) as err:
        f.product(org.admin, "A-1")
    assert err.value.field == "code"
    with pytest.raises(ValidationFailed) as err:
        f.product(org.admin, "A-2", price="-1")
    assert err.value.field == "list_price"
    with pytest.raises(ValidationFailed) as err:
        f.product(org.admin, "A-3", tax_rate="120")
    assert err.value.field == "tax_rate"


def test_deactivated_product_cannot_be_quoted_but_old_quotes_keep_it(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    services.product_set_active(actor=org.admin, product=items["cnc"], active=False)
    with pytest.raises(ValidationFailed) as err:
        f.quote(org.zhang_wei, cust, items)
    assert err.value.field == "lines.0.product"
    # Revising the old quote keeps its line with the now inactive product.
    lines = f.current_lines(q)
    lines[1]["quantity"] = "20"
    q = services.quote_revise(actor=org.zhang_wei, quote=q, expected_version=q.version, lines=lines)
    assert q.revision == 2


def test_price_lookup_price_list_else_list_price(org, items):
    dealer = services.pricelist_create(actor=org.admin, data={"name": "经销商价格表"})
    services.pricelist_item_set(
        actor=org.admin, price_list=dealer, product=items["cnc"], price="230000", min_quantity="2"
    )
    assert services.product_price(items["cnc"], dealer, quantity=2) == D("230000.00")
    # Below the minimum quantity, or a product not in the list: the list price.
    assert services.product_price(items["cnc"], dealer, quantity=1) == D("268000.00")
    assert services.product_price(items["robot"], dealer) == D("186000.00")
    assert services.product_price(items["cnc"], None) == D("268000.00")
    # An inactive or expired list is not used.
    services.pricelist_update(
        actor=org.admin, price_list=dealer, data={"name": "经销商价格表", "is_active": False}
    )
    assert services.product_price(items["cnc"], dealer, quantity=5) == D("268000.00")
    services.pricelist_update(
        actor=org.admin,
        price_list=dealer,
        data={"name": "经销商价格表", "valid_until": dt.date(2020, 1, 1)},
    )
    assert services.product_price(items["cnc"], dealer, quantity=5) == D("268000.00")


def test_one_default_price_list(org):
    a = services.pricelist_create(actor=org.admin, data={"name": "A", "is_default": True})
    b = services.pricelist_create(actor=org.admin, data={"name": "B", "is_default": True})
    a.refresh_from_db()
    assert not a.is_default and b.is_default
    assert services.pricelist_default() == b


def test_quote_lines_take_price_list_prices(org, items, cust):
    dealer = services.pricelist_create(actor=org.admin, data={"name": "经销商价格表"})
    services.pricelist_item_set(
        actor=org.admin, price_list=dealer, product=items["cnc"], price="230000"
    )
    q = f.quote(org.zhang_wei, cust, items, price_list=dealer)
    prices = [x.unit_price for x in q.lines.order_by("position")]
    assert prices == [D("230000.00"), D("360.00")]


# ----------------------------------------------------------------- opportunity products


def test_opportunity_products_and_amount(org, items, cust):
    opp = f.opportunity(org.zhang_wei, cust)
    line = services.opportunity_product_add(
        actor=org.zhang_wei, opportunity=opp, product=items["cnc"], quantity="2"
    )
    assert line.unit_price == D("268000.00")
    services.opportunity_product_add(
        actor=org.zhang_wei,
        opportunity=opp,
        product=items["sensor"],
        quantity="10",
        unit_price="300",
    )
    services.opportunity_product_update(
        actor=org.zhang_wei, line=line, quantity="1", unit_price="250000"
    )
    assert services.opportunity_products_total(opp) == D("253000.00")
    opp = services.opportunity_amount_from_products(
        actor=org.zhang_wei, opportunity=opp, expected_version=opp.version
    )
    opp.refresh_from_db()
    assert opp.amount == D("253000.00")
    services.opportunity_product_remove(actor=org.zhang_wei, line=line)
    assert services.opportunity_products_total(opp) == D("3000.00")


def test_opportunity_products_need_edit_rights(org, items, cust):
    from crm.core.errors import NotFound

    opp = f.opportunity(org.zhang_wei, cust)
    with pytest.raises(NotFound):
        services.opportunity_product_add(
            actor=org.wang_fang, opportunity=opp, product=items["cnc"], quantity="1"
        )
    with pytest.raises(PermissionDenied):  # the manager sees the team's deals read-only
        services.opportunity_product_add(
            actor=org.li_na, opportunity=opp, product=items["cnc"], quantity="1"
        )
    with pytest.raises(ValidationFailed) as err:
        services.opportunity_product_add(
            actor=org.zhang_wei, opportunity=opp, product=items["cnc"], quantity="0"
        )
    assert err.value.field == "quantity"


# ----------------------------------------------------------------- creating quotes


def test_create_quote_numbers_totals_revision_timeline(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    year = timezone.localdate().year
    assert q.number == f"BJ-{year}-000001"
    assert q.status == QuoteStatus.DRAFT
    assert q.owner == org.zhang_wei
    assert q.revision == 1
    # 2 × 268000 + 10 × 360, tax included.
    assert q.total == D("539600.00")
    assert q.tax_amount == D("62077.88")
    assert q.valid_until == timezone.localdate() + dt.timedelta(days=30)
    assert "交货期" in q.terms
    rev = QuoteRevision.objects.get(quote=q)
    assert rev.number == 1 and rev.total == q.total and rev.changes == {}
    assert [x["name"] for x in rev.snapshot["lines"]] == ["VMC850 立式加工中心", "光电传感器 PE-12"]
    assert rev.snapshot["header"]["customer"] == cust.name
    event = TimelineEvent.objects.get(customer=cust, kind="quote_created")
    assert q.number in event.summary
    assert "539" not in event.summary  # no amounts on the customer's timeline
    q2 = f.quote(org.zhang_wei, cust, items)
    assert q2.number == f"BJ-{year}-000002"


def test_number_prefix_setting_and_skipping_taken_numbers(org, items, cust):
    services.quote_settings_update(actor=org.admin, values={"number_prefix": "QT"})
    year = timezone.localdate().year
    Quote.objects.filter(pk__in=[]).update()  # nothing: just the model is importable
    q = f.quote(org.zhang_wei, cust, items)
    assert q.number == f"QT-{year}-000001"
    # Somebody imported QT-<year>-000002 by hand: the sequence skips it.
    Quote.objects.filter(pk=q.pk).update(number=f"QT-{year}-000002")
    q2 = f.quote(org.zhang_wei, cust, items)
    assert q2.number == f"QT-{year}-000003"
    assert QuoteSequence.objects.get(key=f"QT-{year}").last == 3
    with pytest.raises(ValidationFailed) as err:
        services.quote_settings_update(actor=org.admin, values={"number_prefix": "b j"})
    assert err.value.field == "number_prefix"
    with pytest.raises(PermissionDenied):
        services.quote_settings_update(actor=org.li_na, values={"number_prefix": "X"})


def test_quote_from_opportunity_prefills_its_products(org, items, cust):
    opp = f.opportunity(org.zhang_wei, cust)
    services.opportunity_product_add(
        actor=org.zhang_wei,
        opportunity=opp,
        product=items["robot"],
        quantity="3",
        unit_price="180000",
    )
    q = services.quote_from_opportunity(actor=org.zhang_wei, opportunity=opp)
    assert q.opportunity == opp and q.customer == cust
    assert q.title == opp.name
    (line,) = q.lines.all()
    assert (line.quantity, line.unit_price) == (D("3.00"), D("180000.00"))


def test_create_refuses_bad_input_with_field_and_reason(org, items, cust):
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [{"name": "", "quantity": "1", "unit_price": "1"}]}, "lines.0.name"),
        ({"lines": [{"product": items["cnc"], "quantity": "0"}]}, "lines.0.quantity"),
        ({"lines": [{"product": items["cnc"], "quantity": "-2"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "x", "quantity": "1", "unit_price": "-5"}]}, "lines.0.unit_price"),
        ({"lines": [{"name": "x", "quantity": "1"}]}, "lines.0.unit_price"),
        ({"lines": [{"product": 999999, "quantity": "1"}]}, "lines.0.product"),
        ({"discount_pct": "150"}, "discount_pct"),
        ({"valid_until": "2001-01-01"}, "valid_until"),
        ({"valid_until": "明天"}, "valid_until"),
        ({"title": "   "}, "title"),
        ({"currency": "人民币"}, "currency"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationFailed) as err:
            f.quote(org.zhang_wei, cust, items, **data)
        assert err.value.field == field, (data, err.value.field)
        assert err.value.message
    assert not Quote.objects.exists()


def test_contact_must_belong_to_the_customer(org, items, cust):
    other = f.customer(
        org.zhang_wei, "杭州鼎盛建材有限公司", contacts=[{"name": "李四", "mobile": "13700001111"}]
    )
    with pytest.raises(ValidationFailed) as err:
        f.quote(org.zhang_wei, cust, items, contact=other.contacts.first())
    assert err.value.field == "contact"
    q = f.quote(org.zhang_wei, cust, items, contact=cust.contacts.first())
    assert q.contact == cust.contacts.first()


def test_opportunity_must_belong_to_the_customer(org, items, cust):
    other = f.customer(org.zhang_wei, "杭州鼎盛建材有限公司", contacts=[])
    opp = f.opportunity(org.zhang_wei, other)
    with pytest.raises(ValidationFailed) as err:
        services.quote_create(
            actor=org.zhang_wei,
            customer=cust,
            opportunity=opp,
            data={},
            lines=[{"product": items["cnc"], "quantity": "1"}],
        )
    assert err.value.field == "opportunity"


# ----------------------------------------------------------------- revisions


def test_revision_records_who_changed_what(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    lines = f.current_lines(q)
    lines[0]["unit_price"] = "255000"
    lines[0]["discount_pct"] = "5"
    del lines[1]  # the sensors go
    lines.append({"product": items["service"], "quantity": "1"})
    q = services.quote_revise(
        actor=org.zhang_wei,
        quote=q,
        expected_version=q.version,
        data={"valid_until": timezone.localdate() + dt.timedelta(days=45), "discount_pct": "2"},
        lines=lines,
        note="客户要求降价",
    )
    assert q.revision == 2
    rev = QuoteRevision.objects.get(quote=q, number=2)
    assert rev.created_by == org.zhang_wei and rev.note == "客户要求降价"
    ch = rev.changes
    (changed,) = ch["lines_changed"]
    assert changed["name"] == "VMC850 立式加工中心"
    assert changed["changes"]["unit_price"] == ["268000.00", "255000.00"]
    assert changed["changes"]["discount_pct"] == ["0.00", "5.00"]
    assert [x["name"] for x in ch["lines_removed"]] == ["光电传感器 PE-12"]
    assert [x["name"] for x in ch["lines_added"]] == ["安装调试服务"]
    assert ch["header"]["discount_pct"] == ["0.00", "2.00"]
    assert "valid_until" in ch["header"]
    assert ch["totals"]["total"][0] == "539600.00"
    # Revision 1 is still there, unchanged: any past revision can be viewed.
    first = QuoteRevision.objects.get(quote=q, number=1)
    assert first.snapshot["lines"][0]["unit_price"] == "268000.00"
    assert len(first.snapshot["lines"]) == 2
    event = TimelineEvent.objects.get(customer=cust, kind="quote_revised")
    assert "第 2 版" in event.summary


def test_saving_without_change_makes_no_revision(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    again = services.quote_revise(
        actor=org.zhang_wei,
        quote=q,
        expected_version=q.version,
        data={"title": q.title},
        lines=f.current_lines(q),
    )
    assert again.revision == 1
    assert QuoteRevision.objects.filter(quote=q).count() == 1


def test_lines_sent_without_ids_are_matched_by_product(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    q = services.quote_revise(
        actor=org.zhang_wei,
        quote=q,
        expected_version=q.version,
        lines=[
            {"product": items["cnc"], "quantity": "2", "unit_price": "260000"},
            {"product": items["sensor"], "quantity": "10"},
        ],
    )
    ch = QuoteRevision.objects.get(quote=q, number=2).changes
    assert "lines_added" not in ch and "lines_removed" not in ch
    assert ch["lines_changed"][0]["changes"]["unit_price"] == ["268000.00", "260000.00"]


def test_stale_version_is_refused(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    old_version = q.version
    lines = f.current_lines(q)
    lines[0]["quantity"] = "3"
    services.quote_revise(actor=org.zhang_wei, quote=q, expected_version=old_version, lines=lines)
    stale = Quote.objects.get(pk=q.pk)
    lines[0]["quantity"] = "4"
    with pytest.raises(StaleVersion):
        services.quote_revise(
            actor=org.zhang_wei, quote=stale, expected_version=old_version, lines=lines
        )
    assert QuoteRevision.objects.filter(quote=q).count() == 2
    assert stale.lines.get(position=0).quantity == D("3.00")


def test_line_id_of_another_quote_is_refused(org, items, cust):
    a = f.quote(org.zhang_wei, cust, items)
    b = f.quote(org.zhang_wei, cust, items)
    lines = f.current_lines(b)
    lines[0]["id"] = a.lines.first().pk
    with pytest.raises(ValidationFailed) as err:
        services.quote_revise(actor=org.zhang_wei, quote=b, expected_version=b.version, lines=lines)
    assert err.value.field == "lines.0.id"


# ----------------------------------------------------------------- statuses


def test_status_flow(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    with pytest.raises(ValidationFailed):
        services.quote_set_status(actor=org.zhang_wei, quote=q, status="accepted")
    q = services.quote_set_status(actor=org.zhang_wei, quote=q, status="sent")
    # Revising a sent quote puts it back to draft: the new version must be sent again.
    lines = f.current_lines(q)
    lines[0]["quantity"] = "1"
    q = services.quote_revise(actor=org.zhang_wei, quote=q, expected_version=q.version, lines=lines)
    assert q.status == QuoteStatus.DRAFT
    assert QuoteRevision.objects.get(quote=q, number=2).changes["status"] == ["sent", "draft"]
    q = services.quote_set_status(actor=org.zhang_wei, quote=q, status="sent")
    q = services.quote_set_status(actor=org.zhang_wei, quote=q, status="accepted")
    with pytest.raises(ValidationFailed) as err:
        services.quote_revise(actor=org.zhang_wei, quote=q, expected_version=q.version, lines=lines)
    assert err.value.field == "status"
    with pytest.raises(ValidationFailed):
        services.quote_set_status(actor=org.zhang_wei, quote=q, status="draft")
    with pytest.raises(ValidationFailed):
        services.quote_set_status(actor=org.zhang_wei, quote=q, status="bogus")
    kinds = list(
        TimelineEvent.objects.filter(customer=cust, kind="quote_status").values_list(
            "summary", flat=True
        )
    )
    assert any("客户已接受" in s for s in kinds)


def test_expiry_job_and_validity_checks(org, items, cust):
    today = timezone.localdate()
    q = f.quote(org.zhang_wei, cust, items, valid_until=today)
    q = services.quote_set_status(actor=org.zhang_wei, quote=q, status="sent")
    assert services.quotes_expire(today=today) == 0
    assert services.quotes_expire(today=today + dt.timedelta(days=1)) == 1
    assert services.quotes_expire(today=today + dt.timedelta(days=1)) == 0  # idempotent
    q.refresh_from_db()
    assert q.status == QuoteStatus.EXPIRED
    # Sending a quote past its validity is refused until the validity is revised.
    q = services.quote_set_status(actor=org.zhang_wei, quote=q, status="draft")
    with pytest.raises(ValidationFailed) as err:
        services.quote_set_status(
            actor=org.zhang_wei, quote=q, status="sent", today=today + dt.timedelta(days=1)
        )
    assert err.value.field == "valid_until"


def test_stale_status_change_is_refused(org, items, cust):
    q = f.quote(org.zhang_wei, cust, items)
    with pytest.raises(StaleVersion):
        services.quote_set_status(
            actor=org.zhang_wei, quote=q, status="sent", expected_version=q.version + 5
        )


def test_delete_goes_to_the_recycle_bin_and_restores(org, items, cust):
    from crm.core.recyclebin import record_restore
    from crm.search.models import SearchEntry

    q = f.quote(org.zhang_wei, cust, items)
    assert SearchEntry.objects.filter(entity="quote", object_id=q.pk).exists()
    services.quote_delete(actor=org.zhang_wei, quote=q)
    assert not Quote.objects.filter(pk=q.pk).exists()
    assert Quote.all_objects.filter(pk=q.pk).exists()
    assert not SearchEntry.objects.filter(entity="quote", object_id=q.pk).exists()
    record_restore(actor=org.zhang_wei, entity_key="quote", pk=q.pk)
    assert SearchEntry.objects.filter(entity="quote", object_id=q.pk).exists()


def test_search_finds_quotes_by_number_title_and_customer(org, items, cust):
    from crm.search.selectors import search

    q = f.quote(org.zhang_wei, cust, items, title="二期产线设备报价")
    for text in (q.number, q.number[-6:], "二期产线", "恒通精密"):
        hits = search(actor=org.zhang_wei, q=text)
        assert any(h.entity == "quote" and h.id == q.pk for h in hits), text
    assert not any(h.entity == "quote" for h in search(actor=org.wang_fang, q=q.number))
