"""Field-level security: levels, union over roles, masking, present(), writes and reveals."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from crm.access.fieldsec import (
    field_level,
    field_levels,
    field_state,
    mask_value,
    present,
    require_writable,
    reveal,
    writable_fields,
)
from crm.access.models import FieldRule, User
from crm.access.registry import entity_get
from crm.access.services import field_rule_set, role_grant_set
from crm.access.tests.factories import RoleFactory, UserFactory
from crm.audit.models import AuditEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from tests.testapp.models import Note


@pytest.fixture
def fs(db):
    admin = UserFactory(username="root", is_superuser=True)
    r1 = RoleFactory(code="r1", name="r1")
    r2 = RoleFactory(code="r2", name="r2")
    for role in (r1, r2):
        role_grant_set(
            actor=admin, role=role, entity="note", actions=["view"], scope="own", edit_scope="none"
        )
    user = UserFactory(username="u", roles=[r1])
    note = Note.objects.create(
        title="报价",
        phone="+86 138 1234 5678",
        email="zhang@x.cn",
        amount=Decimal("12345.60"),
        owner=user,
    )
    return SimpleNamespace(admin=admin, r1=r1, r2=r2, user=user, note=note)


def rule(fs, role, field, access):
    field_rule_set(actor=fs.admin, role=role, entity="note", field=field, access=access)


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("access", ["hidden", "masked", "reveal", "readonly", "editable"])
def test_single_role_level(fs, access):
    rule(fs, fs.r1, "phone", access)
    assert field_level(fresh(fs.user), "note", "phone") == access
    assert field_level(fresh(fs.user), "note", "email") == "editable"  # no rule


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("hidden", "masked", "masked"),
        ("masked", "hidden", "masked"),
        ("hidden", "hidden", "hidden"),
        ("masked", "reveal", "reveal"),
        ("readonly", "reveal", "readonly"),
        ("hidden", "editable", "editable"),  # "editable" = no rule for the second role
        ("hidden", None, "editable"),  # the second role has no rule at all
    ],
)
def test_union_over_roles_most_permissive_wins(fs, first, second, expected):
    fs.user.roles.add(fs.r2)
    rule(fs, fs.r1, "amount", first)
    if second is not None:
        rule(fs, fs.r2, "amount", second)
    assert field_level(fresh(fs.user), "note", "amount") == expected


def test_rules_of_other_roles_do_not_apply(fs):
    rule(fs, fs.r2, "amount", "hidden")  # the user does not hold r2
    assert field_level(fresh(fs.user), "note", "amount") == "editable"


def test_admin_inactive_anonymous(fs):
    rule(fs, fs.r1, "phone", "hidden")
    assert field_level(fs.admin, "note", "phone") == "editable"
    User.objects.filter(pk=fs.user.pk).update(is_active=False)
    assert field_level(fresh(fs.user), "note", "email") == "hidden"
    assert field_level(AnonymousUser(), "note", "email") == "hidden"
    assert present(AnonymousUser(), fs.note) == {}


def test_field_levels_covers_every_field(fs):
    rule(fs, fs.r1, "amount", "masked")
    levels = field_levels(fresh(fs.user), "note")
    assert levels == {
        "title": "editable",
        "phone": "editable",
        "email": "editable",
        "amount": "masked",
    }


@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("+86 138 1234 5678", "phone", "138****5678"),
        ("138 1234 5678", "phone", "138****5678"),
        ("13812345678", "phone", "138****5678"),
        ("0086-13812345678", "phone", "138****5678"),
        ("8613812345678", "phone", "138****5678"),
        ("021-6123 4567", "phone", "021****4567"),
        ("12345", "phone", "****"),
        ("zhang@x.cn", "email", "z***@x.cn"),
        ("张伟@例子.中国", "email", "张***@例子.中国"),
        ("not-an-email", "email", "n****"),
        (Decimal("12345.60"), "money", "****"),
        (0, "money", "****"),
        ("s3cr3t", "secret", "****"),
        ("华信智能", "text", "华****"),
        (None, "phone", None),
        ("", "email", ""),
    ],
)
def test_mask_formats(value, kind, masked):
    assert mask_value(value, kind) == masked


def test_present_drops_hidden_and_masks_masked(fs):
    rule(fs, fs.r1, "phone", "masked")
    rule(fs, fs.r1, "email", "reveal")
    rule(fs, fs.r1, "amount", "hidden")
    rule(fs, fs.r1, "title", "readonly")
    user = fresh(fs.user)
    assert present(user, fs.note) == {
        "title": "报价",
        "phone": "138****5678",
        "email": "z***@x.cn",
    }
    assert present(user, fs.note, ["amount", "title"]) == {"title": "报价"}
    assert present(fs.admin, fs.note)["amount"] == Decimal("12345.60")


def test_field_state_and_writable_fields(fs):
    rule(fs, fs.r1, "phone", "reveal")
    rule(fs, fs.r1, "amount", "hidden")
    rule(fs, fs.r1, "title", "readonly")
    user = fresh(fs.user)
    entity = entity_get("note")
    assert field_state(user, entity, "phone") == {
        "hidden": False,
        "masked": True,
        "revealable": True,
        "readonly": True,
    }
    assert field_state(user, entity, "amount")["hidden"]
    assert field_state(user, entity, "title") == {
        "hidden": False,
        "masked": False,
        "revealable": False,
        "readonly": True,
    }
    assert field_state(user, entity, "email")["readonly"] is False
    fields = ["title", "phone", "email", "amount"]
    assert writable_fields(user, "note", fields) == ["email"]


def test_require_writable_names_the_field(fs):
    rule(fs, fs.r1, "amount", "readonly")
    user = fresh(fs.user)
    require_writable(user, "note", ["title", "email"])
    with pytest.raises(PermissionDenied) as err:
        require_writable(user, "note", ["title", "amount"])
    assert err.value.field == "amount"
    assert err.value.errors == [{"field": "amount", "message": err.value.message}]


@pytest.mark.parametrize("access", ["hidden", "masked"])
def test_reveal_refused_below_reveal(fs, access):
    rule(fs, fs.r1, "phone", access)
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied) as err:
        reveal(fresh(fs.user), fs.note, "phone")
    assert err.value.field == "phone"
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("access", ["reveal", "readonly", "editable"])
def test_reveal_allowed_and_audited(fs, access):
    rule(fs, fs.r1, "phone", access)
    user = fresh(fs.user)
    assert reveal(user, fs.note, "phone") == "+86 138 1234 5678"
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "reveal"
    assert entry.actor_id == user.pk
    assert entry.entity == "note"
    assert entry.object_id == str(fs.note.pk)
    assert entry.changes == {"field": "phone"}


def test_reveal_of_a_record_out_of_scope_is_not_found(fs):
    rule(fs, fs.r1, "phone", "reveal")
    stranger_note = Note.objects.create(title="别人的", phone="13900000000")
    before = AuditEntry.objects.count()
    with pytest.raises(NotFound):
        reveal(fresh(fs.user), stranger_note, "phone")
    assert AuditEntry.objects.count() == before


def test_field_rule_set_validates_removes_and_audits(fs):
    rule(fs, fs.r1, "phone", "masked")
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "permission"
    assert entry.changes == {"entity": "note", "field": "phone", "access": ["editable", "masked"]}
    rule(fs, fs.r1, "phone", "editable")
    assert not FieldRule.objects.filter(role=fs.r1).exists()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.changes["access"] == ["masked", "editable"]
    count = AuditEntry.objects.count()
    rule(fs, fs.r1, "phone", "editable")  # no change, no entry
    assert AuditEntry.objects.count() == count
    with pytest.raises(ValidationFailed) as err:
        rule(fs, fs.r1, "nope", "hidden")
    assert err.value.field == "field"
    with pytest.raises(ValidationFailed) as err:
        rule(fs, fs.r1, "phone", "invisible")
    assert err.value.field == "access"
    with pytest.raises(ValidationFailed) as err:
        field_rule_set(actor=fs.admin, role=fs.r1, entity="nope", field="x", access="hidden")
    assert err.value.field == "entity"
    with pytest.raises(PermissionDenied):
        field_rule_set(actor=fs.user, role=fs.r1, entity="note", field="phone", access="hidden")
