"""The recycle bin: delete hides, restore brings back, purge is an audited admin action."""

from __future__ import annotations

import pytest

from crm.access.models import User
from crm.access.services import role_grant_set
from crm.access.visibility import visible
from crm.audit.models import AuditEntry
from crm.audit.services import audit_verify
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.recyclebin import (
    record_can_delete,
    record_delete,
    record_purge,
    record_restore,
    trash_entities,
    trash_list,
)
from tests.testapp.models import Note

CRUD = ["view", "create", "edit", "delete"]


@pytest.fixture
def bin_org(org):
    role_grant_set(
        actor=org.admin,
        role=org.roles["sales_rep"],
        entity="note",
        actions=CRUD,
        scope="own",
        edit_scope="own",
    )
    role_grant_set(
        actor=org.admin,
        role=org.roles["sales_manager"],
        entity="note",
        actions=CRUD,
        scope="subtree",
        edit_scope="own",
    )
    role_grant_set(  # finance may look at notes but never delete them
        actor=org.admin,
        role=org.roles["finance"],
        entity="note",
        actions=["view"],
        scope="all",
        edit_scope="none",
    )
    org.zhang_note = Note.objects.create(title="张伟的拜访记录", owner=org.zhang_wei)
    org.li_note = Note.objects.create(title="李娜的周报", owner=org.li_na)
    org.wang_note = Note.objects.create(title="王芳的报价", owner=org.wang_fang)
    return org


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq").first()


def trash_pks(user) -> list[int]:
    return [row.obj.pk for row in trash_list(actor=fresh(user), entity_key="note")]


def test_delete_hides_the_record_and_audits(bin_org):
    org = bin_org
    note = org.zhang_note
    record_delete(actor=org.zhang_wei, obj=note)
    assert not Note.objects.filter(pk=note.pk).exists()
    assert not visible(fresh(org.admin), Note).filter(pk=note.pk).exists()
    stored = Note.all_objects.get(pk=note.pk)
    assert stored.is_deleted
    assert stored.deleted_by_id == org.zhang_wei.pk
    assert stored.version == 2
    entry = last_entry()
    assert (entry.action, entry.entity, entry.object_id, entry.actor_id) == (
        "delete",
        "note",
        str(note.pk),
        org.zhang_wei.pk,
    )
    # A second delete finds nothing to delete.
    with pytest.raises(NotFound):
        record_delete(actor=org.zhang_wei, obj=note)


def test_delete_out_of_scope_is_not_found_and_read_only_is_denied(bin_org):
    org = bin_org
    with pytest.raises(NotFound):
        record_delete(actor=fresh(org.zhang_wei), obj=org.wang_note)
    with pytest.raises(PermissionDenied):  # li.na sees her report's note, may not delete it
        record_delete(actor=fresh(org.li_na), obj=org.zhang_note)
    with pytest.raises(PermissionDenied):
        record_delete(actor=fresh(org.liu_yang), obj=org.zhang_note)
    assert Note.objects.count() == 3
    assert not record_can_delete(fresh(org.li_na), org.zhang_note)
    assert record_can_delete(fresh(org.zhang_wei), org.zhang_note)


def test_trash_lists_only_what_the_user_could_delete(bin_org):
    org = bin_org
    record_delete(actor=org.zhang_wei, obj=org.zhang_note)
    record_delete(actor=org.wang_fang, obj=org.wang_note)
    assert trash_pks(org.zhang_wei) == [org.zhang_note.pk]
    assert trash_pks(org.wang_fang) == [org.wang_note.pk]
    assert trash_pks(org.li_na) == []  # edit scope "own": her team's bin is not hers
    assert trash_pks(org.liu_yang) == []  # no delete right
    assert trash_pks(org.chen_jing) == []  # no grant at all
    assert sorted(trash_pks(org.admin)) == sorted([org.zhang_note.pk, org.wang_note.pk])
    assert [r.obj.pk for r in trash_list(actor=fresh(org.admin))][:2] == [
        org.wang_note.pk,
        org.zhang_note.pk,
    ]  # newest deletion first, across entities
    assert "note" in [e.key for e in trash_entities()]
    # A manager whose edit scope reaches the team sees (and may restore) the team's bin.
    role_grant_set(
        actor=org.admin,
        role=org.roles["sales_manager"],
        entity="note",
        actions=CRUD,
        scope="subtree",
        edit_scope="subtree",
    )
    assert trash_pks(org.li_na) == [org.zhang_note.pk]
    record_restore(actor=fresh(org.li_na), entity_key="note", pk=org.zhang_note.pk)


def test_restore_brings_it_back_and_audits(bin_org):
    org = bin_org
    record_delete(actor=org.zhang_wei, obj=org.zhang_note)
    obj = record_restore(actor=fresh(org.zhang_wei), entity_key="note", pk=org.zhang_note.pk)
    assert obj.deleted_at is None
    stored = Note.objects.get(pk=org.zhang_note.pk)
    assert (stored.deleted_at, stored.deleted_by_id, stored.version) == (None, None, 3)
    entry = last_entry()
    assert (entry.action, entry.object_id) == ("restore", str(org.zhang_note.pk))
    assert trash_pks(org.zhang_wei) == []


@pytest.mark.parametrize(
    ("who", "entity", "pk"),
    [
        ("wang_fang", "note", "zhang"),  # someone else's bin
        ("li_na", "note", "zhang"),  # a manager with edit scope "own"
        ("zhang_wei", "note", "li"),  # not deleted: not in the bin
        ("zhang_wei", "spaceship", "zhang"),
        ("zhang_wei", "user", "zhang"),  # not a recycle-bin entity
        ("zhang_wei", "note", "abc"),
        ("zhang_wei", "note", 10**12),
    ],
)
def test_restore_refusals_are_not_found(bin_org, who, entity, pk):
    org = bin_org
    record_delete(actor=org.zhang_wei, obj=org.zhang_note)
    pk = {"zhang": org.zhang_note.pk, "li": org.li_note.pk}.get(pk, pk)
    with pytest.raises(NotFound):
        record_restore(actor=fresh(getattr(org, who)), entity_key=entity, pk=pk)
    assert Note.all_objects.get(pk=org.zhang_note.pk).is_deleted


def test_purge_is_admin_only_with_typed_confirmation(bin_org):
    org = bin_org
    note = org.zhang_note
    record_delete(actor=org.zhang_wei, obj=note)
    with pytest.raises(PermissionDenied):
        record_purge(actor=fresh(org.zhang_wei), entity_key="note", pk=note.pk, confirm=note.title)
    for wrong in ("", "张伟", "yes"):
        with pytest.raises(ValidationFailed) as err:
            record_purge(actor=fresh(org.admin), entity_key="note", pk=note.pk, confirm=wrong)
        assert err.value.field == "confirm"
    assert Note.all_objects.filter(pk=note.pk).exists()
    # Only from the bin: a live record cannot be purged.
    with pytest.raises(NotFound):
        record_purge(
            actor=fresh(org.admin), entity_key="note", pk=org.li_note.pk, confirm=org.li_note.title
        )
    record_purge(actor=fresh(org.admin), entity_key="note", pk=note.pk, confirm=f" {note.title} ")
    assert not Note.all_objects.filter(pk=note.pk).exists()
    entry = last_entry()
    assert (entry.action, entry.actor_id, entry.object_id) == (
        "purge",
        org.admin.pk,
        str(note.pk),
    )
    assert entry.changes == {"repr": "张伟的拜访记录"}
    assert audit_verify().ok


def test_every_step_is_in_the_audit_trail(bin_org):
    org = bin_org
    start = last_entry().seq
    record_delete(actor=org.zhang_wei, obj=org.zhang_note)
    record_restore(actor=fresh(org.zhang_wei), entity_key="note", pk=org.zhang_note.pk)
    note = Note.objects.get(pk=org.zhang_note.pk)
    record_delete(actor=fresh(org.zhang_wei), obj=note)
    record_purge(actor=fresh(org.admin), entity_key="note", pk=note.pk, confirm=note.title)
    actions = list(
        AuditEntry.objects.filter(seq__gt=start).order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["delete", "restore", "delete", "purge"]


def test_purge_of_a_record_others_still_point_at_is_refused_and_changes_nothing(org):
    """A customer with contacts (PROTECT): a clear refusal, not a server error; no audit."""
    from crm.audit.models import AuditEntry
    from crm.core.errors import Conflict
    from crm.customers import services as customer_services
    from crm.customers.models import Contact, Customer

    customer = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "引用测试有限公司"}, contacts=[{"name": "王五"}]
    )
    customer_services.customer_delete(actor=org.zhang_wei, customer=customer)
    audits = AuditEntry.objects.count()
    with pytest.raises(Conflict) as info:
        record_purge(
            actor=fresh(org.admin), entity_key="customer", pk=customer.pk, confirm=customer.name
        )
    assert "联系人" in info.value.message
    assert Customer.all_objects.filter(pk=customer.pk).exists()
    assert Contact.all_objects.filter(customer_id=customer.pk).count() == 1
    assert AuditEntry.objects.count() == audits
