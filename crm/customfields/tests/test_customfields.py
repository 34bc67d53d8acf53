"""Custom fields: definitions by administrators, validation of values by type, and
"required from status X" (progressive profiling)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.access.tests.factories import UserFactory
from crm.audit.models import AuditEntry
from crm.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from crm.customers import services
from crm.customers.models import Customer
from crm.customfields.models import CustomFieldDef, CustomFieldType
from crm.customfields.services import (
    custom_field_create,
    custom_field_defs,
    custom_field_update,
    custom_value_clean,
    custom_values_clean,
)

pytestmark = pytest.mark.django_db

STATUS_ORDER = services.STATUS_ORDER


def define(org, key, type_, **kw):
    kw.setdefault("label", key)
    return custom_field_create(actor=org.admin, entity="customer", key=key, type=type_, **kw)


# ------------------------------------------------------------------ definitions


def test_define_a_field(org):
    f = define(org, "annual", "money", label="年采购额", help_text="万元", order=2)
    assert f.entity == "customer"
    assert f.type == CustomFieldType.MONEY
    assert f.filterable and f.is_active
    assert custom_field_defs("customer") == [f]
    assert AuditEntry.objects.filter(action="config", entity="customfield").count() == 1
    # Choices may be typed one per line or comma separated (also the full-width comma).
    g = define(org, "intent", "choice", label="合作意向", choices="高\n中，低, 无")
    assert g.choices == ["高", "中", "低", "无"]


def test_only_administrators_define_fields(org):
    for actor in (org.li_na, org.zhang_wei, org.zhao_min):
        with pytest.raises(PermissionDenied):
            custom_field_create(actor=actor, entity="customer", key="x", label="X", type="text")
    f = define(org, "x", "text")
    with pytest.raises(PermissionDenied):
        custom_field_update(actor=org.li_na, field=f, expected_version=f.version, label="Y")


@pytest.mark.parametrize(
    ("key", "data", "field"),
    [
        ("Bad-Key", {"label": "x", "type": "text"}, "key"),
        ("1abc", {"label": "x", "type": "text"}, "key"),
        ("", {"label": "x", "type": "text"}, "key"),
        ("a" * 51, {"label": "x", "type": "text"}, "key"),
        ("ok", {"label": "", "type": "text"}, "label"),
        ("ok", {"label": "长" * 101, "type": "text"}, "label"),
        ("ok", {"label": "x", "type": "float"}, "type"),
        ("ok", {"label": "x", "type": "choice"}, "choices"),
        ("ok", {"label": "x", "type": "multichoice", "choices": []}, "choices"),
        ("ok", {"label": "x", "type": "choice", "choices": ["a", "a"]}, "choices"),
        ("ok", {"label": "x", "type": "text", "required_from": "signed"}, "required_from"),
        ("ok", {"label": "x", "type": "text", "order": "first"}, "order"),
    ],
)
def test_definitions_are_validated(org, key, data, field):
    with pytest.raises(ValidationFailed) as exc:
        custom_field_create(actor=org.admin, entity="customer", key=key, **data)
    assert exc.value.field == field


def test_unknown_entity_and_duplicate_key(org):
    with pytest.raises(ValidationFailed) as exc:
        custom_field_create(actor=org.admin, entity="user", key="x", label="x", type="text")
    assert exc.value.field == "entity"
    with pytest.raises(ValidationFailed):
        custom_field_create(actor=org.admin, entity="nothing", key="x", label="x", type="text")
    define(org, "x", "text")
    with pytest.raises(ValidationFailed) as exc:
        define(org, "X", "number")  # keys are lower-cased
    assert exc.value.field == "key"
    # The same key on another entity is fine.
    custom_field_create(actor=org.admin, entity="contact", key="x", label="x", type="text")


def test_update_a_definition(org):
    f = define(org, "intent", "choice", choices=["高", "低"])
    custom_field_update(
        actor=org.admin,
        field=f,
        expected_version=f.version,
        choices=["高", "中", "低"],
        label="意向",
    )
    f.refresh_from_db()
    assert f.choices == ["高", "中", "低"] and f.label == "意向"
    with pytest.raises(StaleVersion):
        custom_field_update(actor=org.admin, field=f, expected_version=1, label="旧")
    # No values yet: the type may still change.
    custom_field_update(actor=org.admin, field=f, expected_version=f.version, type="text")
    assert CustomFieldDef.objects.get(pk=f.pk).type == "text"


def test_type_is_fixed_once_values_exist(org):
    f = define(org, "size", "number")
    services.customer_create(actor=org.zhang_wei, data={"name": "甲公司"}, custom={"size": 12})
    with pytest.raises(ValidationFailed) as exc:
        custom_field_update(actor=org.admin, field=f, expected_version=f.version, type="text")
    assert exc.value.field == "type"


def test_inactive_fields_take_no_new_values(org):
    f = define(org, "size", "number")
    c = services.customer_create(actor=org.zhang_wei, data={"name": "甲公司"}, custom={"size": 12})
    custom_field_update(actor=org.admin, field=f, expected_version=f.version, is_active=False)
    assert custom_field_defs("customer") == []
    assert custom_field_defs("customer", active_only=False) == [CustomFieldDef.objects.get(pk=f.pk)]
    with pytest.raises(ValidationFailed):
        services.customer_update(
            actor=org.zhang_wei, customer=c, expected_version=c.version, custom={"size": 13}
        )
    # The stored value is kept.
    services.customer_update(
        actor=org.zhang_wei, customer=c, expected_version=c.version, data={"city": "杭州"}
    )
    assert Customer.objects.get(pk=c.pk).custom == {"size": 12.0}


# ------------------------------------------------------------------ values by type


def _def(type_, **kw):
    return CustomFieldDef(entity="customer", key="f", label="字段", type=type_, **kw)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("text", "  你好 ", "你好"),
        ("text", "x" * 200, "x" * 200),
        ("longtext", "第一行\n第二行", "第一行\n第二行"),
        ("longtext", "x" * 5000, "x" * 5000),
        ("number", "1,234.5", 1234.5),
        ("number", 42, 42.0),
        ("number", "-0.5", -0.5),
        ("money", "¥1,234.5", "1234.50"),
        ("money", 99, "99.00"),
        ("money", "0.005", "0.01"),
        ("date", "2026-01-31", "2026-01-31"),
        ("date", dt.date(2026, 2, 28), "2026-02-28"),
        ("date", "2026-01-31T10:00:00", "2026-01-31"),
        ("choice", "高", "高"),
        ("multichoice", ["高", "低"], ["高", "低"]),
        ("multichoice", "高,低,高", ["高", "低"]),
        ("boolean", True, True),
        ("boolean", "是", True),
        ("boolean", "false", False),
        ("boolean", "否", False),
        ("boolean", "0", False),
        ("text", "", None),
        ("number", None, None),
        ("multichoice", [], None),
    ],
)
def test_values_are_cleaned_by_type(type_, value, expected):
    d = _def(type_, choices=["高", "中", "低"])
    assert custom_value_clean(d, value) == expected


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("text", "x" * 201),
        ("longtext", "x" * 5001),
        ("number", "abc"),
        ("number", "1.2.3"),
        ("number", True),
        ("number", "NaN"),
        ("number", "Infinity"),
        ("number", "1e15"),
        ("money", "十万"),
        ("money", "-1e16"),
        ("date", "2026/01/31"),
        ("date", "31.01.2026"),
        ("date", "2026-02-30"),
        ("choice", "极高"),
        ("choice", ["高"]),
        ("multichoice", ["高", "极高"]),
        ("multichoice", "高,极高"),
        ("boolean", "maybe"),
        ("boolean", 2),
        ("user", "abc"),
    ],
)
def test_bad_values_are_refused_with_the_field_key(type_, value):
    d = _def(type_, choices=["高", "中", "低"])
    with pytest.raises(ValidationFailed) as exc:
        custom_value_clean(d, value)
    assert exc.value.field == "custom.f"
    assert "字段" in exc.value.message


def test_user_values(org):
    d = _def("user")
    assert custom_value_clean(d, str(org.li_na.pk)) == org.li_na.pk
    gone = UserFactory(username="gone", department=org.east, is_active=False)
    for bad in (gone.pk, 999999, "x"):
        with pytest.raises(ValidationFailed):
            custom_value_clean(d, bad)


def test_money_keeps_cents_exactly():
    d = _def("money")
    assert Decimal(custom_value_clean(d, "0.1")) + Decimal(custom_value_clean(d, "0.2")) == Decimal(
        "0.30"
    )


# ------------------------------------------------------------------ merging and required_from


def test_unknown_keys_are_refused(org):
    define(org, "size", "number")
    with pytest.raises(ValidationFailed) as exc:
        custom_values_clean(entity="customer", values={"sise": 1})
    assert exc.value.field == "custom.sise"
    with pytest.raises(ValidationFailed):
        services.customer_create(actor=org.zhang_wei, data={"name": "甲公司"}, custom={"nope": 1})
    # Contact fields are separate from customer fields.
    with pytest.raises(ValidationFailed):
        custom_values_clean(entity="contact", values={"size": 1})


def test_merge_keeps_and_clears(org):
    define(org, "size", "number")
    define(org, "note", "text")
    merged = custom_values_clean(
        entity="customer", values={"size": "3", "note": ""}, existing={"note": "旧", "size": 1}
    )
    assert merged == {"size": 3.0}


def test_required_from_status(org):
    define(org, "budget", "money", label="预算", required_from="following")
    # Not yet required at the first status.
    assert (
        custom_values_clean(entity="customer", values={}, status="new", status_order=STATUS_ORDER)
        == {}
    )
    for status in ("following", "won"):
        with pytest.raises(ValidationFailed) as exc:
            custom_values_clean(
                entity="customer", values={}, status=status, status_order=STATUS_ORDER
            )
        assert exc.value.field == "custom.budget"
        assert "预算" in exc.value.message
    # Statuses outside the progression (dormant, lost) do not demand it.
    assert (
        custom_values_clean(entity="customer", values={}, status="lost", status_order=STATUS_ORDER)
        == {}
    )
    ok = custom_values_clean(
        entity="customer", values={"budget": "100"}, status="won", status_order=STATUS_ORDER
    )
    assert ok == {"budget": "100.00"}


def test_required_from_through_the_services(org):
    define(org, "budget", "money", label="预算", required_from="following")
    c = services.customer_create(actor=org.zhang_wei, data={"name": "甲公司"})
    with pytest.raises(ValidationFailed) as exc:
        services.customer_create(
            actor=org.zhang_wei, data={"name": "乙公司", "status": "following"}
        )
    assert exc.value.field == "custom.budget"
    with pytest.raises(ValidationFailed):
        services.customer_update(
            actor=org.zhang_wei,
            customer=c,
            expected_version=c.version,
            data={"status": "following"},
        )
    assert Customer.objects.get(pk=c.pk).status == "new"
    services.customer_update(
        actor=org.zhang_wei,
        customer=c,
        expected_version=c.version,
        data={"status": "following"},
        custom={"budget": "50000"},
    )
    fresh = Customer.objects.get(pk=c.pk)
    assert fresh.status == "following" and fresh.custom == {"budget": "50000.00"}
    # Clearing it once required is refused.
    with pytest.raises(ValidationFailed):
        services.customer_update(
            actor=org.zhang_wei,
            customer=fresh,
            expected_version=fresh.version,
            custom={"budget": ""},
        )


def test_contact_custom_fields(org):
    custom_field_create(
        actor=org.admin,
        entity="contact",
        key="hobby",
        label="爱好",
        type="multichoice",
        choices=["高尔夫", "钓鱼"],
    )
    c = services.customer_create(actor=org.zhang_wei, data={"name": "甲公司"})
    contact = services.contact_create(
        actor=org.zhang_wei, customer=c, data={"name": "张三"}, custom={"hobby": ["钓鱼"]}
    )
    assert contact.custom == {"hobby": ["钓鱼"]}
    with pytest.raises(ValidationFailed) as exc:
        services.contact_update(
            actor=org.zhang_wei,
            contact=contact,
            expected_version=contact.version,
            custom={"hobby": ["麻将"]},
        )
    assert exc.value.field == "custom.hobby"
