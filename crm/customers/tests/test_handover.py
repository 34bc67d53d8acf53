"""Handover (离职交接): preview, execute, undo; and the bulk owner change it builds on."""

from __future__ import annotations

import pytest

from crm.access.tests.factories import UserFactory
from crm.access.visibility import clear_cache, visible
from crm.audit.models import AuditEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers import services
from crm.customers.models import Contact, Customer, HandoverBatch, HandoverItem
from crm.customers.selectors import handover_batch_get, handover_batches
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(org):
    """zhang.wei's customers (names sort 甲 < 乙 < 丙 by code point: 丙 乙 甲)."""
    out = []
    for i, name in enumerate(["甲公司", "乙公司", "丙公司"]):
        out.append(
            services.customer_create(
                actor=org.zhang_wei,
                data={"name": name},
                contacts=[{"name": f"联系人{i}", "mobile": f"1381234567{i}"}],
            )
        )
    other = services.customer_create(actor=org.wang_fang, data={"name": "别人的公司"})
    return out, other


def _owners(customers):
    return {c.name: Customer.objects.get(pk=c.pk).owner for c in customers}


def test_preview_changes_nothing(org, book):
    customers, _other = book
    plan = services.handover_preview(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang, org.huang_qiang]
    )
    assert plan.from_user == org.zhang_wei
    names = sorted(c.name for c in customers)
    assert [c.name for c, _u in plan.assignments] == names
    assert [u for _c, u in plan.assignments] == [org.wang_fang, org.huang_qiang, org.wang_fang]
    assert plan.counts == {org.wang_fang.pk: 2, org.huang_qiang.pk: 1}
    assert plan.contacts == 3
    assert all(o == org.zhang_wei for o in _owners(customers).values())
    assert not HandoverBatch.objects.exists()


def test_execute_moves_customers_and_their_contacts(org, book):
    customers, other = book
    batch = services.handover_execute(
        actor=org.admin,
        from_user=org.zhang_wei,
        to_users=[org.wang_fang, org.huang_qiang],
        reason="离职",
    )
    assert batch.summary["customers"] == 3
    assert batch.summary["contacts"] == 3
    assert batch.reason == "离职"
    owners = _owners(customers)
    assert sorted(u.username for u in owners.values()) == ["huang.qiang", "wang.fang", "wang.fang"]
    assert Customer.objects.get(pk=other.pk).owner == org.wang_fang  # untouched
    assert HandoverItem.objects.filter(batch=batch, entity="customer").count() == 3
    for c in customers:
        event = TimelineEvent.objects.get(customer=c, kind="handover")
        assert event.actor == org.admin
        assert event.data["changes"]["owner"][0] == org.zhang_wei.name
    assert AuditEntry.objects.filter(entity="handover", object_id=str(batch.pk)).exists()
    # Contacts follow their customer: the receivers see them, the leaver does not.
    for u in (org.zhang_wei, org.wang_fang, org.huang_qiang):
        clear_cache(u)
    assert visible(org.zhang_wei, Contact).count() == 0
    assert visible(org.wang_fang, Contact).count() == 2
    assert visible(org.huang_qiang, Contact).count() == 3  # wang.fang reports to him
    # Versions advanced: an edit started before the handover is stale.
    assert all(Customer.objects.get(pk=c.pk).version == c.version + 1 for c in customers)
    assert handover_batches(actor=org.admin) == [batch]
    assert handover_batch_get(actor=org.admin, batch_id=batch.pk) == batch


def test_undo_gives_back_except_what_changed_since(org, book):
    customers, _other = book
    batch = services.handover_execute(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang]
    )
    moved_on = customers[0]
    services.customer_transfer(actor=org.admin, customer_ids=[moved_on.pk], owner=org.li_na)
    versions = {c.pk: Customer.objects.get(pk=c.pk).version for c in customers}
    services.handover_undo(actor=org.admin, batch_id=batch.pk)
    owners = _owners(customers)
    assert owners[moved_on.name] == org.li_na  # changed since: skipped
    assert [owners[c.name] for c in customers[1:]] == [org.zhang_wei, org.zhang_wei]
    for c in customers[1:]:
        assert Customer.objects.get(pk=c.pk).version == versions[c.pk] + 1
        assert TimelineEvent.objects.filter(customer=c, kind="handover").count() == 2
    batch.refresh_from_db()
    assert batch.undone_at is not None
    assert batch.undone_by == org.admin
    entry = AuditEntry.objects.filter(entity="handover").order_by("-seq").first()
    assert entry.changes == {"undone": True, "restored": 2, "skipped": 1}
    with pytest.raises(ValidationFailed):
        services.handover_undo(actor=org.admin, batch_id=batch.pk)


def test_handover_is_for_administrators(org, book):
    for actor in (org.director, org.li_na, org.zhang_wei):
        with pytest.raises(PermissionDenied):
            services.handover_preview(
                actor=actor, from_user=org.zhang_wei, to_users=[org.wang_fang]
            )
        with pytest.raises(PermissionDenied):
            services.handover_execute(
                actor=actor, from_user=org.zhang_wei, to_users=[org.wang_fang]
            )
    batch = services.handover_execute(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.li_na]
    )
    with pytest.raises(PermissionDenied):
        services.handover_undo(actor=org.li_na, batch_id=batch.pk)
    with pytest.raises(NotFound):
        services.handover_undo(actor=org.admin, batch_id=999999)
    assert handover_batches(actor=org.li_na) == []
    with pytest.raises(NotFound):
        handover_batch_get(actor=org.li_na, batch_id=batch.pk)


def test_receivers_are_checked(org, book):
    gone = UserFactory(username="gone", department=org.east, is_active=False)
    for to_users in ([], [org.zhang_wei], [org.wang_fang, org.zhang_wei], [gone]):
        with pytest.raises(ValidationFailed) as exc:
            services.handover_preview(actor=org.admin, from_user=org.zhang_wei, to_users=to_users)
        assert exc.value.field == "to_users"


def test_handover_of_someone_with_nothing(org):
    batch = services.handover_execute(actor=org.admin, from_user=org.zhao_min, to_users=[org.li_na])
    assert batch.summary["customers"] == 0
    services.handover_undo(actor=org.admin, batch_id=batch.pk)


# ------------------------------------------------------------------ bulk owner change


def test_transfer_by_manager_and_admin(org, book):
    customers, other = book
    ids = [c.pk for c in customers]
    # The manager sees the rep's customers read-only: no transfer (all or nothing).
    with pytest.raises(NotFound):
        services.customer_transfer(actor=org.li_na, customer_ids=ids, owner=org.li_na)
    with pytest.raises(NotFound):
        services.customer_transfer(
            actor=org.zhang_wei, customer_ids=[*ids, other.pk], owner=org.zhang_wei
        )
    assert all(o == org.zhang_wei for o in _owners(customers).values())
    # A rep may not hand a customer to a stranger.
    with pytest.raises(PermissionDenied) as exc:
        services.customer_transfer(actor=org.zhang_wei, customer_ids=ids, owner=org.wang_fang)
    assert exc.value.field == "owner"
    assert services.customer_transfer(actor=org.admin, customer_ids=ids, owner=org.wang_fang) == 3
    for c in customers:
        event = TimelineEvent.objects.get(customer=c, kind="owner_changed")
        assert event.data["changes"]["owner"] == [org.zhang_wei.name, org.wang_fang.name]
        assert Customer.objects.get(pk=c.pk).owned_since is not None
    # Same owner again: nothing to record.
    services.customer_transfer(actor=org.admin, customer_ids=ids, owner=org.wang_fang)
    assert TimelineEvent.objects.filter(kind="owner_changed").count() == 3


def test_transfer_to_an_inactive_user_is_refused(org, book):
    customers, _other = book
    gone = UserFactory(username="gone", department=org.east, is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        services.customer_transfer(actor=org.admin, customer_ids=[customers[0].pk], owner=gone)
    assert exc.value.field == "owner"


def test_other_owned_records_move_with_their_customer_and_come_back_on_undo(org, book, monkeypatch):
    """Registered participants (here opportunities) follow their customer's new owner; one
    whose customer the leaver does not own is dealt round-robin; undo gives them back."""
    from crm.opportunities.models import Opportunity, Pipeline, Stage

    customers, other = book
    pipeline = Pipeline.objects.create(name="交接测试流程")
    stage = Stage.objects.create(pipeline=pipeline, name="初步接洽", order=1)

    def opp(customer, name):
        return Opportunity.objects.create(
            customer=customer, name=name, pipeline=pipeline, stage=stage, owner=org.zhang_wei
        )

    with_customer = opp(customers[0], "随客户移交")
    of_other = opp(other, "别人客户上的商机")
    monkeypatch.setattr(services, "HANDOVER_PARTICIPANTS", [])
    services.handover_participant_register(
        services.HandoverParticipant("opportunity", Opportunity, "商机")
    )
    plan = services.handover_preview(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang, org.huang_qiang]
    )
    assert plan.others == [("商机", 2)]
    batch = services.handover_execute(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang, org.huang_qiang]
    )
    customer_owner = Customer.objects.get(pk=customers[0].pk).owner
    with_customer.refresh_from_db()
    of_other.refresh_from_db()
    assert with_customer.owner == customer_owner
    assert of_other.owner in (org.wang_fang, org.huang_qiang)
    assert batch.summary["others"] == {"商机": 2}
    assert HandoverItem.objects.filter(batch=batch, entity="opportunity").count() == 2
    services.handover_undo(actor=org.admin, batch_id=batch.pk)
    with_customer.refresh_from_db()
    of_other.refresh_from_db()
    assert with_customer.owner == org.zhang_wei
    assert of_other.owner == org.zhang_wei


def test_sales_records_are_registered_and_a_leavers_lead_moves_and_comes_back(org, book):
    """Opportunities, quotes, contracts and leads all take part in a handover; a lead has no
    customer, so it is dealt to a receiver and given back on undo."""
    from crm.leads.models import Lead

    entities = {p.entity for p in services.HANDOVER_PARTICIPANTS}
    assert {"opportunity", "quote", "contract", "lead"} <= entities
    lead = Lead.objects.create(name="留下的线索", company="某公司", owner=org.zhang_wei)
    plan = services.handover_preview(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang]
    )
    assert ("线索", 1) in [(str(label), n) for label, n in plan.others]
    batch = services.handover_execute(
        actor=org.admin, from_user=org.zhang_wei, to_users=[org.wang_fang]
    )
    lead.refresh_from_db()
    assert lead.owner == org.wang_fang
    services.handover_undo(actor=org.admin, batch_id=batch.pk)
    lead.refresh_from_db()
    assert lead.owner == org.zhang_wei
