"""Contracts and payments in the permission layer, the search index, the timeline,
notifications and the default roles."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.contracts.models import Contract, Payment
from crm.notifications.kinds import NotificationKind, kind_register
from crm.search.keys import SearchDoc
from crm.search.registry import Searchable, search_register
from crm.timeline.services import TimelineKind, timeline_kind_register


def _contract_restored(obj: Any, actor: Any) -> None:
    from crm.contracts.services import contract_after_restore

    contract_after_restore(obj, actor)


def _payment_restored(obj: Any, actor: Any) -> None:
    from crm.contracts.services import payment_after_restore

    payment_after_restore(obj, actor)


CONTRACT = register(
    Entity(
        key="contract",
        model=Contract,
        label=_("合同"),
        owner_field="owner",
        soft_delete=True,
        extra={"after_restore": lambda obj, actor: _contract_restored(obj, actor)},
        fields=(
            FieldSpec("number", _("合同编号")),
            FieldSpec("name", _("合同名称")),
            # Encrypted at rest; masked as **** (the receivable and the plan's amounts follow
            # this field's level too: they would give the amount away).
            FieldSpec("amount", _("合同金额"), kind="money", sensitive=True),
            FieldSpec("currency", _("币种")),
            FieldSpec("signed_on", _("签约日期")),
            FieldSpec("start_date", _("开始日期")),
            FieldSpec("end_date", _("结束日期")),
            FieldSpec("status", _("状态")),
            FieldSpec("terms", _("主要条款")),
            FieldSpec("notes", _("备注")),
            FieldSpec("owner", _("负责人")),
        ),
    )
)

PAYMENT = register(
    Entity(
        key="payment",
        model=Payment,
        label=_("回款记录"),
        # Who sees a payment follows the contract's owner (a manager sees the team's).
        owner_field="contract__owner",
        soft_delete=True,
        extra={"after_restore": lambda obj, actor: _payment_restored(obj, actor)},
        fields=(
            FieldSpec("amount", _("回款金额"), kind="money", sensitive=True),
            FieldSpec("received_on", _("回款日期")),
            FieldSpec("method", _("回款方式")),
            FieldSpec("reference", _("凭证号")),
            FieldSpec("notes", _("备注")),
        ),
    )
)

default_grants_add(
    "contract",
    {
        "sales_rep": (["view", "create", "edit", "delete"], "own", "own"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "own"),
        # Finance reads every contract and its amount, and changes none.
        "finance": (["view", "export"], "all", "none"),
        # Service sees what the customer signed (dates, terms), never the amount.
        "service": (["view"], "all", "none"),
    },
    field_rules={("contract", "amount"): {"service": "hidden", "finance": "readonly"}},
)
default_grants_add(
    "payment",
    {
        "sales_rep": (["view", "create"], "own", "own"),
        "sales_manager": (["view"], "subtree", "none"),
        "finance": (["view", "create", "edit", "delete", "export"], "all", "all"),
        "service": (["view"], "all", "none"),
    },
    field_rules={("payment", "amount"): {"service": "hidden"}},
)


# A leaver's contracts move with their customers in a handover (离职交接) and come back on
# undo; payments follow their contract's owner by themselves.
def _handover_register() -> None:
    from crm.customers.services import HandoverParticipant, handover_participant_register

    handover_participant_register(HandoverParticipant("contract", Contract, _("合同")))


_handover_register()


# ----------------------------------------------------------------- search


def _contract_doc(c: Contract) -> SearchDoc:
    # Never the amount: the index text is not field-secured.
    return SearchDoc(
        title=f"{c.number} {c.name}",
        subtitle=c.customer.name,
        names=[c.name, c.customer.name, c.number],
        codes=[c.number],
    )


def _contract_present(actor: Any, c: Contract) -> tuple[str, str]:
    from crm.access.fieldsec import MASK, present

    shown = present(actor, c, ["number", "name", "status"])
    customer = present(actor, c.customer, ["name"]).get("name", MASK)
    title = " ".join(str(shown.get(k) or "") for k in ("number", "name")).strip()
    status = c.get_status_display() if "status" in shown else ""
    return title, " · ".join(str(p) for p in (customer, status) if p)


search_register(
    Searchable(
        entity="contract",
        doc=_contract_doc,
        url=lambda c: reverse("contract_detail", args=[c.pk]),
        label=_("合同"),
        queryset=lambda: Contract.objects.select_related("customer"),
        order=50,
        present=_contract_present,
    )
)


# ----------------------------------------------------------------- timeline, notifications

for _k in (
    TimelineKind("contract_created", _("新建合同"), "file-text", "indigo"),
    TimelineKind("contract_status", _("合同状态"), "file-check", "blue"),
    TimelineKind("payment_received", _("回款"), "cash", "green"),
):
    timeline_kind_register(_k)

kind_register(NotificationKind("payment_due", _("回款即将到期"), ("inapp",)))
kind_register(NotificationKind("payment_overdue", _("回款逾期"), ("inapp", "email")))
