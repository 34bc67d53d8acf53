"""Merging two customers and undoing it: generic re-pointing, unique link rows, field
choices, permissions, audit, timeline, search — and undo restoring the exact state."""

from __future__ import annotations

from typing import Any

import pytest

from crm.access.visibility import clear_cache
from crm.activities.models import FollowUp, Task
from crm.audit.models import AuditEntry
from crm.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from crm.customers import services as customer_services
from crm.customers.models import Contact, Customer, CustomerCollaborator, CustomerTag
from crm.dedupe.models import DuplicatePair, MergeRecord, PairStatus
from crm.dedupe.relations import customer_relations
from crm.dedupe.services import (
    PairInput,
    customer_merge,
    customer_merge_undo,
    duplicate_pair_dismiss,
    duplicate_pairs_record,
)
from crm.search.models import SearchEntry
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

VOLATILE = {"version", "updated_at", "deleted_at", "deleted_by_id", "completeness"}


def make(owner, name, *, contacts=None, **data) -> Customer:
    """A customer owned by `owner` (created by the administrator: duplicates allowed)."""
    from crm.access.models import User

    admin = User.objects.get(username="admin")
    return customer_services.customer_create(
        actor=admin,
        data={"name": name, **data},
        contacts=contacts,
        owner=owner,
        allow_duplicate=True,
    )


def state(*customers: Customer, since: dict[str, int] | None = None) -> dict[str, Any]:
    """Everything about these customers: their own fields and every row of every model that
    points at them (rows created after `since` — the merge's own timeline entries — aside)."""
    ids = [c.pk for c in customers]
    out: dict[str, Any] = {}
    for c in Customer.all_objects.filter(pk__in=ids).order_by("pk"):
        out[f"customer:{c.pk}"] = {
            f.attname: getattr(c, f.attname)
            for f in Customer._meta.concrete_fields
            if f.attname not in VOLATILE
        }
    for field in customer_relations():
        model = field.model
        label = f"{model._meta.label}.{field.name}"
        rows = model._base_manager.filter(**{f"{field.attname}__in": ids}).order_by("pk")
        if since is not None:
            rows = rows.filter(pk__lte=since.get(label, 0))
        out[label] = [
            {
                f.attname: getattr(r, f.attname)
                for f in model._meta.concrete_fields
                if f.attname not in VOLATILE
            }
            for r in rows
        ]
    return out


def high_water() -> dict[str, int]:
    out = {}
    for field in customer_relations():
        model = field.model
        top = model._base_manager.order_by("-pk").values_list("pk", flat=True).first()
        out[f"{model._meta.label}.{field.name}"] = top or 0
    return out


@pytest.fixture
def pair(org):
    """Two records of one company, owned by 华东 rep zhang.wei, with overlapping links."""
    t1 = customer_services.tag_create(actor=org.admin, name="制造业")
    t2 = customer_services.tag_create(actor=org.admin, name="重点")
    t3 = customer_services.tag_create(actor=org.admin, name="展会")
    a = make(
        org.zhang_wei,
        "杭州西湖电子科技有限公司",
        industry="电子",
        province="浙江",
        city="杭州",
        contacts=[{"name": "王建国", "mobile": "13812345678"}],
    )
    b = make(
        org.zhang_wei,
        "杭州西湖电子科技",
        credit_code="91330100716105852F",
        level="A",
        address="文三路 90 号",
        contacts=[
            {"name": "李娜", "mobile": "13912345678", "email": "li@xh.cn"},
            {"name": "赵六", "phone": "0571-88886666"},
        ],
    )
    CustomerTag.objects.create(customer=a, tag=t1)
    CustomerTag.objects.create(customer=a, tag=t2)
    CustomerTag.objects.create(customer=b, tag=t1)  # the survivor has it already
    CustomerTag.objects.create(customer=b, tag=t3)
    CustomerCollaborator.objects.create(customer=a, user=org.li_na)
    CustomerCollaborator.objects.create(customer=b, user=org.li_na)  # duplicate
    CustomerCollaborator.objects.create(customer=b, user=org.wang_fang)
    FollowUp.objects.create(customer=b, kind="电话", content="聊了报价", author=org.zhang_wei)
    Task.objects.create(title="寄样品", customer=b, assignee=org.zhang_wei)
    a.refresh_from_db()
    b.refresh_from_db()
    return a, b


def test_merge_moves_everything_and_undo_restores_exactly(org, pair):
    a, b = pair
    before = state(a, b)
    marks = high_water()

    record = customer_merge(actor=org.admin, survivor=a, loser=b, choices={"address": "b"})

    a.refresh_from_db()
    b_after = Customer.all_objects.get(pk=b.pk)
    assert b_after.deleted_at is not None  # the loser is in the recycle bin
    # fields: chosen, filled from the loser where the survivor had nothing, kept otherwise
    assert a.name == "杭州西湖电子科技有限公司"
    assert a.address == "文三路 90 号"
    assert a.credit_code == "91330100716105852F"
    assert a.level == "A"
    assert a.industry == "电子"
    # related records all on the survivor
    assert Contact.objects.filter(customer=a).count() == 3
    assert Contact.objects.filter(customer=a, is_primary=True).count() == 1
    assert set(CustomerTag.objects.filter(customer=a).values_list("tag__name", flat=True)) == {
        "制造业",
        "重点",
        "展会",
    }
    assert set(
        CustomerCollaborator.objects.filter(customer=a).values_list("user__username", flat=True)
    ) == {
        "li.na",
        "wang.fang",
    }
    assert FollowUp.objects.filter(customer=a).count() == 1
    assert Task.objects.filter(customer=a).count() == 1
    assert not TimelineEvent.objects.filter(customer=b).exists()
    assert TimelineEvent.objects.filter(customer=a, kind="merged").count() == 1
    # the record says what moved and what was dropped (duplicates of the survivor's links)
    assert len(record.moved["customers.Contact.customer"]) == 2
    assert len(record.dropped["customers.CustomerTag"]) == 1
    assert len(record.dropped["customers.CustomerCollaborator"]) == 1
    # audit on both, search index follows
    assert AuditEntry.objects.filter(
        action="merge", entity="customer", object_id=str(a.pk)
    ).exists()
    assert AuditEntry.objects.filter(action="merged_into", object_id=str(b.pk)).exists()
    assert not SearchEntry.objects.filter(entity="customer", object_id=b.pk).exists()

    customer_merge_undo(actor=org.admin, merge=record)

    assert state(a, b, since=marks) == before
    assert Customer.objects.filter(pk=b.pk).exists()
    assert SearchEntry.objects.filter(entity="customer", object_id=b.pk).exists()
    assert TimelineEvent.objects.filter(customer=a, kind="merge_undone").count() == 1
    assert AuditEntry.objects.filter(action="merge_undo", object_id=str(a.pk)).exists()
    record.refresh_from_db()
    assert record.undone_at is not None
    with pytest.raises(Conflict):
        customer_merge_undo(actor=org.admin, merge=record)


def test_choices_pick_the_losers_values_and_owner(org, pair):
    a, b = pair
    b.owner = org.li_na
    b.save()
    record = customer_merge(
        actor=org.admin, survivor=a, loser=b, choices={"name": "b", "owner": "b", "level": "a"}
    )
    a.refresh_from_db()
    assert a.name == "杭州西湖电子科技"
    assert a.name_key == "杭州西湖电子科技"
    assert a.owner == org.li_na
    assert a.level == ""  # "a" chosen explicitly: the survivor's value, even empty
    assert record.choices == {"name": "b", "owner": "b", "level": "a"}


def test_unknown_field_or_side_is_refused(org, pair):
    a, b = pair
    with pytest.raises(ValidationFailed):
        customer_merge(actor=org.admin, survivor=a, loser=b, choices={"password": "b"})
    with pytest.raises(ValidationFailed):
        customer_merge(actor=org.admin, survivor=a, loser=b, choices={"name": "c"})
    with pytest.raises(ValidationFailed):
        customer_merge(actor=org.admin, survivor=a, loser=a)


def test_stale_version_is_refused(org, pair):
    a, b = pair
    with pytest.raises(StaleVersion):
        customer_merge(actor=org.admin, survivor=a, loser=b, survivor_version=a.version - 1)


def test_survivor_edits_after_the_merge_survive_the_undo(org, pair):
    a, b = pair
    record = customer_merge(actor=org.admin, survivor=a, loser=b, choices={"address": "b"})
    a.refresh_from_db()
    customer_services.customer_update(
        actor=org.admin, customer=a, expected_version=a.version, data={"address": "新地址"}
    )
    new_contact = customer_services.contact_create(
        actor=org.admin, customer=a, data={"name": "新人", "mobile": "13700001111"}
    )
    customer_merge_undo(actor=org.admin, merge=record)
    a.refresh_from_db()
    assert a.address == "新地址"  # edited since: kept
    assert a.credit_code == ""  # merged value, untouched since: restored
    assert Contact.objects.get(pk=new_contact.pk).customer_id == a.pk
    entry = AuditEntry.objects.filter(action="merge_undo").latest("seq")
    assert "address" in entry.changes["kept_edits"]


def test_pairs_follow_the_merge_and_the_undo(org, pair):
    a, b = pair
    c = make(org.zhang_wei, "杭州西湖电子")
    duplicate_pairs_record(
        pairs=[
            PairInput(a.pk, b.pk, 95, ["x"], False, True),
            PairInput(b.pk, c.pk, 80, ["y"], False, False),
        ]
    )
    ab = DuplicatePair.objects.get(a=a, b=b)
    bc = DuplicatePair.objects.get(a=b, b=c)
    record = customer_merge(actor=org.admin, survivor=a, loser=b)
    ab.refresh_from_db()
    bc.refresh_from_db()
    assert (ab.status, ab.merge_id) == (PairStatus.MERGED, record.pk)
    assert bc.status == PairStatus.OBSOLETE
    customer_merge_undo(actor=org.admin, merge=record)
    ab.refresh_from_db()
    bc.refresh_from_db()
    assert (ab.status, ab.merge_id) == (PairStatus.OPEN, None)
    assert bc.status == PairStatus.OPEN


def test_record_pairs_never_reopens_a_dismissed_pair(org, pair):
    a, b = pair
    duplicate_pairs_record(pairs=[PairInput(b.pk, a.pk, 90, ["x"], False, False)])
    p = DuplicatePair.objects.get()
    assert (p.a_id, p.b_id) == (a.pk, b.pk)  # stored in id order
    duplicate_pair_dismiss(actor=org.admin, pair=p)
    created, updated = duplicate_pairs_record(pairs=[PairInput(a.pk, b.pk, 99, ["y"], True, True)])
    p.refresh_from_db()
    assert (created, updated, p.status, p.score) == (0, 0, PairStatus.DISMISSED, 90)
    assert AuditEntry.objects.filter(action="dismiss").exists()


# ------------------------------------------------------------------ permissions


def test_manager_merges_own_customers_but_not_a_reports_by_default(org):
    own_a = make(org.li_na, "杭州东方明珠科技")
    own_b = make(org.li_na, "杭州东方明珠科技有限公司")
    customer_merge(actor=org.li_na, survivor=own_a, loser=own_b)
    rep_a = make(org.zhang_wei, "宁波海天塑机")
    rep_b = make(org.zhang_wei, "宁波海天塑机有限公司")
    # li.na sees her report's customers (read-only by default): 403, not 404
    with pytest.raises(PermissionDenied):
        customer_merge(actor=org.li_na, survivor=rep_a, loser=rep_b)


def test_out_of_scope_is_not_found(org, pair):
    a, b = pair
    with pytest.raises(NotFound):
        customer_merge(actor=org.huang_qiang, survivor=a, loser=b)  # 华南 manager
    south = make(org.wang_fang, "广州白云电器")
    with pytest.raises(NotFound):
        customer_merge(actor=org.zhang_wei, survivor=a, loser=south)


def test_rep_without_the_duplicate_grant_may_not_merge_own_customers(org, pair):
    a, b = pair
    with pytest.raises(PermissionDenied):
        customer_merge(actor=org.zhang_wei, survivor=a, loser=b)
    clear_cache(org.zhang_wei)


def test_undo_needs_the_survivor_in_scope(org, pair):
    a, b = pair
    record = customer_merge(actor=org.admin, survivor=a, loser=b)
    with pytest.raises(NotFound):
        customer_merge_undo(actor=org.huang_qiang, merge=record)
    assert MergeRecord.objects.get(pk=record.pk).undone_at is None


def test_undo_refused_when_the_loser_was_restored_from_the_bin(org, pair):
    from crm.core.recyclebin import record_restore

    a, b = pair
    record = customer_merge(actor=org.admin, survivor=a, loser=b)
    record_restore(actor=org.admin, entity_key="customer", pk=b.pk)
    with pytest.raises(Conflict):
        customer_merge_undo(actor=org.admin, merge=record)


def test_records_of_other_apps_move_too(org, pair):
    """Found through the model meta: an app added later needs no change here."""
    from crm.leads.models import Lead

    a, b = pair
    labels = {f"{f.model._meta.label}.{f.name}" for f in customer_relations()}
    assert {
        "customers.Contact.customer",
        "customers.CustomerTag.customer",
        "timeline.TimelineEvent.customer",
        "activities.FollowUp.customer",
        "leads.Lead.converted_customer",
    } <= labels
    assert not any(label.startswith("dedupe.") for label in labels)
    lead = Lead.objects.create(name="王先生", company="西湖电子", converted_customer=b)
    record = customer_merge(actor=org.admin, survivor=a, loser=b)
    assert Lead.objects.get(pk=lead.pk).converted_customer_id == a.pk
    assert record.moved["leads.Lead.converted_customer"] == [lead.pk]
    customer_merge_undo(actor=org.admin, merge=record)
    assert Lead.objects.get(pk=lead.pk).converted_customer_id == b.pk


def test_unique_sets_see_plain_and_partial_constraints():
    from crm.dedupe.services import _unique_sets

    tag_field = CustomerTag._meta.get_field("customer")
    assert _unique_sets(CustomerTag, tag_field) == [(["tag_id"], None)]
    contact_field = Contact._meta.get_field("customer")
    assert _unique_sets(Contact, contact_field) == []


def test_sales_records_move_to_the_survivor_and_come_back_on_undo(org, pair):
    """Opportunities, quotes, contracts and their payments of the loser end up on the
    survivor — nothing of the sales history is lost or left on a record in the bin — and
    undo gives each back to the customer it had."""
    from decimal import Decimal

    from crm.contracts import services as contract_services
    from crm.contracts.models import Contract, Payment
    from crm.contracts.tests.factories import active_contract, open_opportunity
    from crm.opportunities.models import Opportunity
    from crm.quotes.models import Quote
    from crm.quotes.tests.factories import catalogue, quote

    a, b = pair
    owner = b.owner
    opp_b = open_opportunity(owner, b, amount="300000")
    opp_a = open_opportunity(owner, a, amount="100000")
    quote_b = quote(owner, b, catalogue(org.admin))
    contract_b = active_contract(owner, org.admin, customer=b, amount="200000")
    payment = contract_services.payment_create(
        actor=owner,
        contract=contract_b,
        data={"received_on": contract_b.signed_on, "amount": "50000"},
    )
    a.refresh_from_db()
    b.refresh_from_db()

    record = customer_merge(actor=org.admin, survivor=a, loser=b)

    assert set(Opportunity.objects.filter(customer=a).values_list("pk", flat=True)) == {
        opp_a.pk,
        opp_b.pk,
    }
    assert Quote.objects.get(pk=quote_b.pk).customer_id == a.pk
    assert Contract.objects.get(pk=contract_b.pk).customer_id == a.pk
    assert Contract.objects.get(pk=contract_b.pk).amount_value == Decimal("200000.00")
    assert Payment.objects.get(pk=payment.pk).contract_id == contract_b.pk
    for label in ("opportunities.Opportunity", "quotes.Quote", "contracts.Contract"):
        assert any(key.startswith(label) for key in record.moved), label

    customer_merge_undo(actor=org.admin, merge=record)

    assert Opportunity.objects.get(pk=opp_b.pk).customer_id == b.pk
    assert Opportunity.objects.get(pk=opp_a.pk).customer_id == a.pk
    assert Quote.objects.get(pk=quote_b.pk).customer_id == b.pk
    assert Contract.objects.get(pk=contract_b.pk).customer_id == b.pk
