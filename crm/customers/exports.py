"""The customer and contact lists in the export registry (crm.exports).

Headers are the fields' Chinese labels, the same the importer recognises; the rows are the
list page's own: its filter form over the query string, its selector, its ordering.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.customers.filters import contact_filter_form, customer_filter_form
from crm.customers.models import ContactRole, CustomerStatus
from crm.customers.normalize import phone_display
from crm.customers.selectors import (
    contact_list_queryset,
    custom_fields_for,
    customer_list_queryset,
    customer_primary_contacts,
    customers_attach_tags,
)
from crm.customfields.models import CustomFieldType
from crm.exports.registry import (
    Column,
    ExportSpec,
    choice_display,
    export_register,
    field_column,
    id_column,
    yes_no,
)

# ----------------------------------------------------------------- custom fields


def _custom_cell(d: Any) -> Callable[[Any], Any]:
    """A custom field's stored value as a cell the importer reads back to the same value."""

    def cell(obj: Any) -> Any:
        value = (obj.custom or {}).get(d.key)
        if value in (None, "", []):
            return None
        if d.type == CustomFieldType.BOOLEAN:
            return yes_no(value)
        if d.type == CustomFieldType.MULTICHOICE and isinstance(value, list):
            return ",".join(str(v) for v in value)  # custom_value_clean splits on ","
        if d.type == CustomFieldType.MONEY:
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return str(value)
        if d.type == CustomFieldType.NUMBER and isinstance(value, (int, float)):
            return int(value) if float(value).is_integer() else value
        if d.type == CustomFieldType.DATE:
            try:
                return dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                return str(value)
        if d.type == CustomFieldType.USER:
            names = getattr(obj, "export_user_names", {})
            return names.get(int(value), value) if str(value).isdigit() else value
        return value

    return cell


def _custom_columns(entity: str) -> list[Column]:
    return [
        Column(f"custom.{d.key}", d.label, value=_custom_cell(d)) for d in custom_fields_for(entity)
    ]


def _attach_user_names(actor: Any, objects: list[Any], entity: str) -> None:
    from crm.access.selectors import user_names

    keys = [d.key for d in custom_fields_for(entity) if d.type == CustomFieldType.USER]
    if not keys:
        return
    ids = [(o.custom or {}).get(k) for o in objects for k in keys]
    names = user_names(actor=actor, ids=[i for i in ids if i not in (None, "")])
    for o in objects:
        o.export_user_names = names


_CN_MOBILE = re.compile(r"^\+86(1\d{2})(\d{4})(\d{4})$")


def _phone(value: Any) -> str:
    """+8613812345678 → 138 1234 5678 without a phonenumbers round (most of them are mobiles)."""
    m = _CN_MOBILE.match(str(value))
    if m:
        return " ".join(m.groups())
    return phone_display(str(value))


def _person(user: Any) -> str:
    return user.name if user is not None else ""


# ----------------------------------------------------------------- customers


def _customer_rows(actor: Any, params: Any) -> QuerySet:
    filters = customer_filter_form(actor, params).filters()
    qs, ordering = customer_list_queryset(actor=actor, filters=filters)
    return qs.order_by(*ordering)


def _customer_prepare(actor: Any, customers: list[Any]) -> None:
    customers_attach_tags(customers)
    primary = customer_primary_contacts(actor=actor, customer_ids=[c.pk for c in customers])
    for c in customers:
        shown = primary.get(c.pk)
        c.export_contact = shown["obj"] if shown else None
    _attach_user_names(actor, customers, "customer")


def _primary(name: str) -> Callable[[Any], Any]:
    return lambda c: getattr(c.export_contact, name, None) if c.export_contact else None


def _department(c: Any) -> str:
    owner = c.owner
    if owner is None or not owner.department_id:
        return ""
    return str(owner.department.name)


def customer_columns(actor: Any) -> list[Column]:
    status = choice_display(CustomerStatus.choices)
    return [
        id_column(),
        field_column("customer", "name"),
        field_column("customer", "credit_code"),
        field_column("customer", "industry"),
        field_column("customer", "level"),
        field_column("customer", "source"),
        field_column("customer", "status", display=status),
        field_column("customer", "province"),
        field_column("customer", "city"),
        field_column("customer", "address"),
        field_column("customer", "website"),
        field_column("customer", "notes"),
        Column(
            "tags",
            _("标签"),
            value=lambda c: "、".join(t.full_name for t in getattr(c, "tag_list", [])),
            secured=("tag", "name"),
        ),
        field_column("customer", "owner", value=lambda c: _person(c.owner)),
        field_column(
            "customer",
            "owner",
            key="owner_username",
            label=_("负责人账号"),
            value=lambda c: c.owner.username if c.owner else "",
        ),
        field_column("customer", "owner", key="department", label=_("部门"), value=_department),
        # The primary contact, under the contact's own field rules (marketing: phones masked).
        field_column("contact", "name", key="contact", label=_("联系人"), value=_primary("name")),
        field_column("contact", "title", key="contact_title", value=_primary("title")),
        field_column(
            "contact",
            "mobile",
            key="contact_mobile",
            value=_primary("mobile"),
            display=_phone,
        ),
        field_column(
            "contact", "phone", key="contact_phone", value=_primary("phone"), display=_phone
        ),
        field_column("contact", "email", key="contact_email", value=_primary("email")),
        *_custom_columns("customer"),
        Column("last_follow_up_at", _("最近跟进")),
        Column("next_follow_up_at", _("下次跟进")),
        Column("created_at", _("创建时间")),
    ]


export_register(
    ExportSpec(
        entity="customer",
        label=_("客户"),
        columns=customer_columns,
        rows=_customer_rows,
        prepare=_customer_prepare,
        list_url="customer_list",
    )
)


# ----------------------------------------------------------------- contacts


def _contact_rows(actor: Any, params: Any) -> QuerySet:
    filters = contact_filter_form(actor, params).filters()
    qs, ordering = contact_list_queryset(actor=actor, filters=filters)
    return qs.order_by(*ordering)


def contact_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        Column("customer_id", _("客户ID"), value=lambda c: c.customer_id),
        field_column("customer", "name", key="customer", label=_("客户"), value=_customer("name")),
        field_column("customer", "credit_code", key="credit_code", value=_customer("credit_code")),
        field_column("contact", "name"),
        field_column("contact", "title"),
        field_column("contact", "mobile", display=_phone),
        field_column("contact", "phone", display=_phone),
        field_column("contact", "email"),
        field_column("contact", "wechat"),
        field_column("contact", "birthday"),
        field_column("contact", "role", display=choice_display(ContactRole.choices)),
        Column("is_primary", _("主要联系人"), value=lambda c: yes_no(c.is_primary)),
        field_column("contact", "notes"),
        *_custom_columns("contact"),
        Column("created_at", _("创建时间")),
    ]


def _customer(name: str) -> Callable[[Any], Any]:
    return lambda c: getattr(c.customer, name, None)


export_register(
    ExportSpec(
        entity="contact",
        label=_("联系人"),
        columns=contact_columns,
        rows=_contact_rows,
        prepare=lambda actor, contacts: _attach_user_names(actor, contacts, "contact"),
        list_url="contact_list",
    )
)
