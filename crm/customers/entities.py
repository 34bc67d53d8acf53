"""Customers and contacts in the permission layer, the search index and the default roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.customers.models import Contact, Customer, CustomerStatus, Tag
from crm.customfields.services import custom_entity_register
from crm.search.keys import SearchDoc
from crm.search.registry import Searchable, search_register

ALL = ["view", "create", "edit", "delete", "export", "import"]


def _after_restore(obj: Any, actor: Any) -> None:
    from crm.customers.services import customer_after_restore

    customer_after_restore(obj, actor)


def _collaborating(actor: Any) -> Any:
    from crm.customers.models import CustomerCollaborator

    return CustomerCollaborator.objects.filter(user_id=actor.pk).values("customer_id")


def _customer_extra(actor: Any) -> Q:
    # Collaborators see the customer; everyone who may see customers sees the public pool.
    # Subqueries, not joins: no DISTINCT needed over a million rows.
    return Q(pk__in=_collaborating(actor)) | Q(owner__isnull=True)


def _contact_extra(actor: Any) -> Q:
    return Q(customer_id__in=_collaborating(actor)) | Q(customer__owner__isnull=True)


CUSTOMER = register(
    Entity(
        key="customer",
        model=Customer,
        label=_("客户"),
        owner_field="owner",
        soft_delete=True,
        extra_visible=_customer_extra,
        extra={"after_restore": lambda obj, actor: _after_restore(obj, actor)},
        fields=(
            FieldSpec("name", _("客户名称")),
            FieldSpec("credit_code", _("统一社会信用代码")),
            FieldSpec("industry", _("行业")),
            FieldSpec("level", _("客户级别")),
            FieldSpec("source", _("客户来源")),
            FieldSpec("province", _("省份")),
            FieldSpec("city", _("城市")),
            FieldSpec("address", _("详细地址")),
            FieldSpec("website", _("网址")),
            FieldSpec("status", _("客户状态")),
            FieldSpec("notes", _("备注")),
            FieldSpec("owner", _("负责人")),
        ),
    )
)

CONTACT = register(
    Entity(
        key="contact",
        model=Contact,
        label=_("联系人"),
        owner_field="customer__owner",
        soft_delete=True,
        extra_visible=_contact_extra,
        extra={"after_restore": lambda obj, actor: _after_restore(obj, actor)},
        fields=(
            FieldSpec("name", _("姓名")),
            FieldSpec("title", _("职务")),
            FieldSpec("mobile", _("手机"), kind="phone"),
            FieldSpec("phone", _("电话"), kind="phone"),
            FieldSpec("email", _("邮箱"), kind="email"),
            FieldSpec("wechat", _("微信")),
            FieldSpec("birthday", _("生日")),
            FieldSpec("role", _("角色")),
            FieldSpec("notes", _("备注")),
        ),
    )
)

default_grants_add(
    "customer",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "own"),
        "marketing": (["view", "export"], "all", "none"),
        "service": (["view"], "all", "none"),
        "finance": (["view"], "all", "none"),
    },
)
default_grants_add(
    "contact",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "own"),
        "marketing": (["view"], "all", "none"),
        "service": (["view"], "all", "none"),
        "finance": (["view"], "all", "none"),
    },
    field_rules={
        # A marketing clerk cannot see (or bulk export) phone numbers by default.
        ("contact", "mobile"): {"marketing": "masked", "finance": "masked"},
        ("contact", "phone"): {"marketing": "masked", "finance": "masked"},
        ("contact", "email"): {"finance": "masked"},
    },
)
default_grants_add("tag", {"sales_rep": (["view"], "all", "none")})
for _code in ("sales_manager", "marketing", "service", "finance"):
    default_grants_add("tag", {_code: (["view"], "all", "none")})
default_grants_add("tag", {"marketing": (["view", "create", "edit", "delete"], "all", "all")})


def _customer_doc(c: Customer) -> SearchDoc:
    where = " ".join(p for p in (c.province, c.city) if p)
    return SearchDoc(
        title=c.name,
        subtitle=" · ".join(p for p in (where, c.industry) if p),
        names=[c.name],
        codes=[c.credit_code] if c.credit_code else [],
    )


def _contact_doc(c: Contact) -> SearchDoc:
    customer = c.customer
    return SearchDoc(
        title=c.name,
        subtitle=" · ".join(p for p in (customer.name, c.title) if p),
        names=[c.name],
        phones=[p for p in (c.mobile, c.phone) if p],
        emails=[c.email] if c.email else [],
    )


def _shown(actor: Any, obj: Any, name: str) -> str:
    from crm.access.fieldsec import MASK, present

    value = present(actor, obj, [name]).get(name, MASK)
    return "" if value is None else str(value)


def _customer_present(actor: Any, c: Customer) -> tuple[str, str]:
    from crm.access.fieldsec import present

    shown = present(actor, c, ["province", "city", "industry"])
    where = " ".join(str(shown[k]) for k in ("province", "city") if shown.get(k))
    return _shown(actor, c, "name"), " · ".join(
        p for p in (where, str(shown.get("industry") or "")) if p
    )


def _contact_present(actor: Any, c: Contact) -> tuple[str, str]:
    # The company and the job title: never a phone or an email in a result line.
    parts = (_shown(actor, c.customer, "name"), _shown(actor, c, "title"))
    return _shown(actor, c, "name"), " · ".join(p for p in parts if p)


search_register(
    Searchable(
        entity="customer",
        doc=_customer_doc,
        url=lambda c: reverse("customer_detail", args=[c.pk]),
        label=_("客户"),
        queryset=lambda: Customer.objects.select_related("owner"),
        order=10,
        present=_customer_present,
    )
)
search_register(
    Searchable(
        entity="contact",
        doc=_contact_doc,
        url=lambda c: reverse("customer_detail", args=[c.customer_id]) + f"#contact-{c.pk}",
        label=_("联系人"),
        queryset=lambda: Contact.objects.select_related("customer"),
        order=20,
        present=_contact_present,
    )
)


register(
    Entity(
        key="tag",
        model=Tag,
        label=_("标签"),
        owner_field=None,
        fields=(FieldSpec("name", _("名称")),),
        actions=("view", "create", "edit", "delete"),
    )
)


custom_entity_register("customer", _("客户"), list(CustomerStatus.choices))
custom_entity_register("contact", _("联系人"), [])
