"""The customer timeline (客户动态): what services write, and reading it back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from crm.audit.models import AuditEntry
from crm.audit.services import audit_verify
from crm.core.errors import NotFound
from crm.core.recyclebin import record_restore
from crm.customers import services
from crm.customers.selectors import customer_360, customer_timeline
from crm.timeline.models import TimelineEvent
from crm.timeline.services import (
    TimelineKind,
    timeline_append,
    timeline_kind,
    timeline_kind_register,
    timeline_kinds,
)

pytestmark = pytest.mark.django_db


def kinds(customer):
    return list(
        TimelineEvent.objects.filter(customer_id=customer.pk)
        .order_by("id")
        .values_list("kind", flat=True)
    )


@pytest.fixture
def customer(org):
    return services.customer_create(
        actor=org.zhang_wei,
        data={"name": "杭州海康威视数字技术股份有限公司", "level": "B"},
        contacts=[{"name": "王建国", "mobile": "13812345678"}],
    )


def test_every_customer_event_is_on_the_timeline(org, customer):
    c = customer
    services.customer_update(
        actor=org.zhang_wei,
        customer=c,
        expected_version=c.version,
        data={"level": "A", "city": "杭州"},
    )
    tag = services.tag_create(actor=org.admin, name="重点客户")
    services.customers_tag(actor=org.zhang_wei, customer_ids=[c.pk], tags=[tag])
    contact = services.contact_create(
        actor=org.zhang_wei, customer=c, data={"name": "李四", "title": "技术总监"}
    )
    services.contact_update(
        actor=org.zhang_wei,
        contact=contact,
        expected_version=contact.version,
        data={"title": "CTO"},
    )
    services.contact_delete(actor=org.zhang_wei, contact=contact)
    services.customer_transfer(actor=org.admin, customer_ids=[c.pk], owner=org.li_na)
    c.refresh_from_db()
    services.customer_release(actor=org.li_na, customer=c, reason="转交公海")
    services.customer_claim(actor=org.wang_fang, customer=c)
    assert kinds(c) == [
        "created",
        "updated",
        "tagged",
        "contact_added",
        "contact_updated",
        "contact_deleted",
        "owner_changed",
        "released",
        "claimed",
    ]
    events = {e.kind: e for e in TimelineEvent.objects.filter(customer=c)}
    assert events["created"].actor == org.zhang_wei
    assert events["created"].data["values"]["level"] == "B"
    # Field changes are recorded old → new.
    assert events["updated"].data["changes"] == {"level": ["B", "A"], "city": ["", "杭州"]}
    assert events["contact_updated"].data["changes"]["title"] == ["技术总监", "CTO"]
    assert events["owner_changed"].data["changes"]["owner"] == [org.zhang_wei.name, org.li_na.name]
    assert events["released"].data["changes"]["owner"] == [org.li_na.name, None]
    assert events["claimed"].data["changes"]["owner"] == [None, org.wang_fang.name]
    assert events["claimed"].actor == org.wang_fang
    # Contact events point at the contact.
    for kind in ("contact_added", "contact_updated", "contact_deleted"):
        assert events[kind].contact_id == contact.pk
    assert events["contact_added"].ref_entity == "contact"
    assert events["contact_added"].ref_id == str(contact.pk)
    assert "李四" in events["contact_added"].summary


def test_services_write_the_audit_trail_too(org, customer):
    c = customer
    services.customer_update(
        actor=org.zhang_wei, customer=c, expected_version=c.version, data={"city": "杭州"}
    )
    contact = c.contacts.get()
    services.contact_update(
        actor=org.zhang_wei,
        contact=contact,
        expected_version=contact.version,
        data={"title": "采购"},
    )
    services.customer_delete(actor=org.zhang_wei, customer=c)
    record_restore(actor=org.zhang_wei, entity_key="customer", pk=c.pk)
    rows = list(
        AuditEntry.objects.filter(entity__in=["customer", "contact"])
        .order_by("seq")
        .values_list("action", "entity", "object_id")
    )
    assert rows == [
        ("create", "customer", str(c.pk)),
        ("update", "customer", str(c.pk)),
        ("update", "contact", str(contact.pk)),
        ("delete", "customer", str(c.pk)),
        ("restore", "customer", str(c.pk)),
    ]
    update = AuditEntry.objects.get(action="update", entity="customer")
    assert update.changes == {"city": ["", "杭州"]}
    assert update.actor == org.zhang_wei
    assert audit_verify().ok
    assert kinds(c)[-2:] == ["deleted", "restored"]


def test_reading_the_timeline(org, customer):
    c = customer
    for i in range(5):
        services.customer_update(
            actor=org.zhang_wei,
            customer=c,
            expected_version=c.version,
            data={"address": f"地址{i}"},
        )
    page = customer_timeline(actor=org.zhang_wei, customer_id=c.pk, limit=4)
    assert [e.kind for e in page.items] == ["updated"] * 4
    assert page.next
    rest = customer_timeline(actor=org.zhang_wei, customer_id=c.pk, cursor=page.next, limit=4)
    assert [e.kind for e in rest.items] == ["updated", "created"]
    assert rest.next is None
    seen = [e.pk for e in page.items + rest.items]
    assert len(seen) == len(set(seen)) == 6
    only = customer_timeline(actor=org.zhang_wei, customer_id=c.pk, kinds=["created"])
    assert [e.kind for e in only.items] == ["created"]
    # The manager reads it; another region gets 404 like for the customer itself.
    assert customer_timeline(actor=org.li_na, customer_id=c.pk).items
    with pytest.raises(NotFound):
        customer_timeline(actor=org.wang_fang, customer_id=c.pk)
    view = customer_360(actor=org.zhang_wei, customer_id=c.pk, kinds=["created"])
    assert [e.kind for e in view.timeline.items] == ["created"]


def test_same_second_events_keep_their_order(org, customer):
    at = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    ids = [
        timeline_append(customer_id=customer.pk, kind="note", summary=str(i), at=at).pk
        for i in range(3)
    ]
    page = customer_timeline(actor=org.zhang_wei, customer_id=customer.pk, limit=2)
    items = (
        page.items
        + customer_timeline(
            actor=org.zhang_wei, customer_id=customer.pk, cursor=page.next, limit=10
        ).items
    )
    same = [e.pk for e in items if e.at == at]
    assert same == sorted(ids, reverse=True)


def test_timeline_append(org, customer):
    e = timeline_append(
        customer_id=customer.pk,
        kind="note",
        actor=AnonymousUser(),
        summary="x" * 600,
        data={"when": dt.date(2026, 1, 2), "amount": __import__("decimal").Decimal("1.50")},
        ref_entity="opportunity",
        ref_id=12,
    )
    e.refresh_from_db()
    assert e.actor is None
    assert len(e.summary) == 500
    assert e.data == {"when": "2026-01-02", "amount": "1.50"}
    assert e.ref_id == "12"


def test_kinds_registry():
    assert timeline_kind("created").label == "创建"
    assert timeline_kind("unknown-kind").key == "unknown-kind"
    timeline_kind_register(TimelineKind("followup_test", "跟进", "phone", "blue"))
    assert "followup_test" in timeline_kinds()
    for key in ("created", "updated", "tagged", "owner_changed", "claimed", "released"):
        assert key in timeline_kinds()
