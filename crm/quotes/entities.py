"""Products, price lists and quotes in the permission layer, the search index, the timeline
and the default roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.quotes.models import PriceList, Product, Quote
from crm.search.keys import SearchDoc
from crm.search.registry import Searchable, search_register
from crm.timeline.services import TimelineKind, timeline_kind_register

ROLES = ("sales_rep", "sales_manager", "marketing", "service", "finance")


def _quote_extra(actor: Any) -> Q:
    # Collaborators of the customer see (never edit) its quotes, as with its opportunities.
    from crm.customers.models import CustomerCollaborator

    return Q(
        customer_id__in=CustomerCollaborator.objects.filter(user_id=actor.pk).values("customer_id")
    )


def _quote_restored(obj: Any, actor: Any) -> None:
    from crm.quotes.services import quote_after_restore

    quote_after_restore(obj, actor)


PRODUCT = register(
    Entity(
        key="product",
        model=Product,
        label=_("产品"),
        # Organisation-wide catalogue: scope is ignored, the actions decide. Products are
        # deactivated (停售), never deleted: old quotes keep pointing at them.
        owner_field=None,
        fields=(
            FieldSpec("code", _("产品编码")),
            FieldSpec("name", _("产品名称")),
            FieldSpec("category", _("产品分类")),
            FieldSpec("unit", _("单位")),
            FieldSpec("list_price", _("标准价"), kind="money"),
            FieldSpec("tax_rate", _("税率（%）"), kind="number"),
            FieldSpec("description", _("描述")),
        ),
        actions=("view", "create", "edit", "delete", "export", "import"),
    )
)

PRICE_LIST = register(
    Entity(
        key="pricelist",
        model=PriceList,
        label=_("价格表"),
        owner_field=None,
        fields=(FieldSpec("name", _("价格表名称")),),
        actions=("view", "create", "edit", "delete"),
    )
)

QUOTE = register(
    Entity(
        key="quote",
        model=Quote,
        label=_("报价单"),
        owner_field="owner",
        soft_delete=True,
        extra_visible=_quote_extra,
        extra={"after_restore": lambda obj, actor: _quote_restored(obj, actor)},
        fields=(
            FieldSpec("number", _("报价单号")),
            FieldSpec("title", _("报价标题")),
            FieldSpec("status", _("状态")),
            FieldSpec("valid_until", _("有效期至")),
            FieldSpec("currency", _("币种")),
            # One rule on `total` governs every amount of the quote (lines, subtotals, tax):
            # whoever may not read the total may not read a price either.
            FieldSpec("total", _("总计"), kind="money"),
            FieldSpec("discount_pct", _("整单折扣（%）"), kind="number"),
            FieldSpec("terms", _("条款")),
            FieldSpec("notes", _("备注")),
            FieldSpec("owner", _("负责人")),
        ),
    )
)

# Everyone sees the catalogue and the price lists; only administrators change them.
for _code in ROLES:
    default_grants_add("product", {_code: (["view"], "all", "none")})
    default_grants_add("pricelist", {_code: (["view"], "all", "none")})

default_grants_add(
    "quote",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "own"),
        "finance": (["view"], "all", "none"),
    },
)


# ----------------------------------------------------------------- search


def _quote_doc(q: Quote) -> SearchDoc:
    customer = q.customer.name
    return SearchDoc(
        title=f"{q.number} {q.title}",
        subtitle=customer,
        names=[q.title, q.number, customer],
        # "BJ-2026-000123" is searched as a phone-like run of digits: index those too.
        codes=[q.number, "".join(c for c in q.number if c.isdigit())],
    )


def _quote_present(actor: Any, q: Quote) -> tuple[str, str]:
    from crm.access.fieldsec import MASK, present

    shown = present(actor, q, ["number", "title"])
    customer = present(actor, q.customer, ["name"]).get("name", MASK)
    title = " ".join(str(shown[k]) for k in ("number", "title") if shown.get(k))
    return title, str(customer or "")


search_register(
    Searchable(
        entity="quote",
        doc=_quote_doc,
        url=lambda q: reverse("quote_detail", args=[q.pk]),
        label=_("报价单"),
        queryset=lambda: Quote.objects.select_related("customer"),
        order=40,
        present=_quote_present,
    )
)


# ----------------------------------------------------------------- timeline

for _k in (
    TimelineKind("quote_created", _("新建报价"), "file-invoice", "cyan"),
    TimelineKind("quote_revised", _("报价修订"), "file-diff", "blue"),
    TimelineKind("quote_status", _("报价状态"), "file-check", "teal"),
):
    timeline_kind_register(_k)


# A leaver's quotes move with their customers in a handover (离职交接).
def _handover_register() -> None:
    from crm.customers.services import HandoverParticipant, handover_participant_register

    handover_participant_register(HandoverParticipant("quote", Quote, _("报价")))


_handover_register()
