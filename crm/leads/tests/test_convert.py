"""Conversion: customer (new / link, registration duplicate check), contact, opportunity,
history on the customer timeline, idempotency."""

from __future__ import annotations

import pytest

from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.models import Contact, Customer
from crm.customers.services import customer_create
from crm.leads.models import LeadStatus
from crm.leads.services import (
    lead_convert,
    lead_note_add,
    lead_status_change,
)
from crm.leads.tests.factories import make_lead
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def _lead(org, **data):
    values = {
        "name": "陈建华",
        "company": "上海申浦精密机械有限公司",
        "mobile": "13812345678",
        "email": "chen@shenpu.cn",
        "title": "设备部经理",
        "province": "上海",
        "industry": "机械制造",
    }
    values.update(data)
    return make_lead(org.zhang_wei, **values)


def test_convert_creates_customer_contact_and_moves_history(org):
    lead = _lead(org)
    lead_status_change(actor=org.zhang_wei, lead=lead, status="contacted")
    lead_note_add(actor=org.zhang_wei, lead=lead, text="客户想要两条产线")
    result = lead_convert(actor=org.zhang_wei, lead=lead)
    customer = result.customer
    assert customer.name == "上海申浦精密机械有限公司"
    assert customer.owner == org.zhang_wei and customer.province == "上海"
    contact = result.contact
    assert contact is not None and contact.customer == customer
    assert contact.mobile == "+8613812345678" and contact.email == "chen@shenpu.cn"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at is not None
    assert lead.converted_customer == customer and lead.converted_contact == contact
    events = TimelineEvent.objects.filter(customer=customer, ref_entity="lead")
    summaries = list(
        events.filter(kind="lead").order_by("at", "id").values_list("summary", flat=True)
    )
    assert any("创建了线索" in s for s in summaries)
    assert any("已联系" in s for s in summaries)
    assert any("两条产线" in s for s in summaries)
    assert any("分配给" in s for s in summaries)
    assert events.filter(kind="lead_converted", ref_id=str(lead.pk)).count() == 1


def test_history_keeps_its_times(org):
    import datetime as dt

    from django.utils import timezone

    from crm.leads.models import LeadEvent

    lead = _lead(org)
    old = timezone.now() - dt.timedelta(days=10)
    LeadEvent.objects.filter(lead=lead).update(at=old)
    customer = lead_convert(actor=org.zhang_wei, lead=lead).customer
    created = TimelineEvent.objects.filter(customer=customer, kind="lead").order_by("at").first()
    assert abs((created.at - old).total_seconds()) < 1


def test_converting_twice_is_refused_clearly(org):
    lead = _lead(org)
    first = lead_convert(actor=org.zhang_wei, lead=lead)
    with pytest.raises(Conflict) as exc:
        lead_convert(actor=org.zhang_wei, lead=lead)
    assert exc.value.existing_id == first.customer.pk
    assert "不能重复转化" in exc.value.message
    assert Customer.objects.count() == 1


def test_duplicate_customer_is_a_conflict_and_nothing_is_written(org):
    existing = customer_create(
        actor=org.wang_fang, data={"name": "上海申浦精密机械有限公司"}, contacts=[]
    )
    lead = _lead(org)
    with pytest.raises(Conflict) as exc:
        lead_convert(actor=org.zhang_wei, lead=lead)
    assert exc.value.existing_id == existing.pk
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert Customer.objects.count() == 1
    assert not TimelineEvent.objects.filter(ref_entity="lead").exists()


def test_duplicate_by_contact_phone(org):
    other = customer_create(
        actor=org.wang_fang,
        data={"name": "别的名字有限公司"},
        contacts=[{"name": "陈", "mobile": "13812345678"}],
    )
    with pytest.raises(Conflict) as exc:
        lead_convert(actor=org.zhang_wei, lead=_lead(org))
    assert exc.value.existing_id == other.pk


def test_link_to_existing_customer_reuses_the_same_person(org):
    mine = customer_create(
        actor=org.zhang_wei,
        data={"name": "上海申浦精密机械有限公司"},
        contacts=[{"name": "陈总", "mobile": "13812345678"}],
    )
    lead = _lead(org)
    result = lead_convert(actor=org.zhang_wei, lead=lead, customer=mine)
    assert result.customer == mine
    assert result.contact is not None and result.contact.name == "陈总"
    assert Contact.objects.filter(customer=mine).count() == 1


def test_link_with_new_contact_and_with_none(org):
    mine = customer_create(actor=org.zhang_wei, data={"name": "已有客户"}, contacts=[])
    result = lead_convert(actor=org.zhang_wei, lead=_lead(org), customer=mine)
    assert result.contact is not None and result.contact.name == "陈建华"
    other = _lead(org, name="李四", mobile="13900001111", email="")
    result = lead_convert(actor=org.zhang_wei, lead=other, customer=mine, create_contact=False)
    assert result.contact is None


def test_link_existing_contact_must_belong_to_the_customer(org):
    a = customer_create(
        actor=org.zhang_wei,
        data={"name": "甲公司"},
        contacts=[{"name": "甲", "mobile": "13900000001"}],
    )
    b = customer_create(actor=org.zhang_wei, data={"name": "乙公司"}, contacts=[])
    with pytest.raises(ValidationFailed):
        lead_convert(
            actor=org.zhang_wei,
            lead=_lead(org, mobile="13900000099", email=""),
            customer=b,
            contact=a.contacts.first(),
        )


def test_cannot_link_to_an_invisible_customer(org):
    theirs = customer_create(actor=org.wang_fang, data={"name": "华南客户"}, contacts=[])
    with pytest.raises(NotFound):
        lead_convert(actor=org.zhang_wei, lead=_lead(org), customer=theirs)


def test_disqualified_and_foreign_leads_cannot_be_converted(org):
    lead = _lead(org)
    lead_status_change(actor=org.zhang_wei, lead=lead, status="disqualified", reason="没有需求")
    with pytest.raises(ValidationFailed):
        lead_convert(actor=org.zhang_wei, lead=lead)
    other = _lead(org, mobile="13900000123", email="")
    with pytest.raises(NotFound):
        lead_convert(actor=org.wang_fang, lead=other)


def test_manager_views_but_marketing_cannot_create_customers(org):
    lead = make_lead(org.zhao_min, name="市场线索", mobile="13900000456", owner=org.zhao_min)
    with pytest.raises(PermissionDenied):
        lead_convert(actor=org.zhao_min, lead=lead)


def test_manager_converts_a_reps_lead_for_the_rep(org):
    lead = _lead(org)
    result = lead_convert(actor=org.li_na, lead=lead)
    assert result.customer.owner == org.zhang_wei


def test_convert_with_opportunity(org):
    lead = _lead(org, source="展会")
    result = lead_convert(
        actor=org.zhang_wei,
        lead=lead,
        opportunity_data={
            "name": "申浦产线改造",
            "amount": "880000",
            "expected_close_date": "2027-03-31",
        },
    )
    opp = result.opportunity
    assert opp is not None and opp.customer == result.customer
    assert opp.source_lead_id == lead.pk and opp.owner == org.zhang_wei
    assert str(opp.amount) == "880000.00" and opp.source == "展会"
    lead.refresh_from_db()
    assert lead.converted_opportunity_id == opp.pk


def test_opportunity_error_rolls_everything_back(org):
    lead = _lead(org)
    with pytest.raises(ValidationFailed):
        lead_convert(actor=org.zhang_wei, lead=lead, opportunity_data={"name": ""})
    assert Customer.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
