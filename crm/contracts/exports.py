"""The contract and payment lists in the export registry (crm.exports).

Rows are the list pages' own (their filters over the query string, their ordering); every
money column is ruled by a field rule: the contract amount (and the balances computed from
it) by contract.amount, what was received by payment.amount, so an exporter sees no more
than on the page. Amounts are numbers, so a spreadsheet can sum them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.contracts.forms import ContractFilterForm
from crm.contracts.models import ContractStatus
from crm.contracts.selectors import (
    contract_balances,
    contract_owner_choices,
    contract_queryset,
    payment_queryset,
)
from crm.exports.registry import (
    Column,
    ExportSpec,
    choice_display,
    export_register,
    field_column,
    id_column,
)


def _contract_rows(actor: Any, params: Any) -> QuerySet:
    users = contract_owner_choices(actor=actor, include=params.get("owner"))
    form = ContractFilterForm(params or None, users=users)
    return contract_queryset(actor=actor, filters=form.filters())


def _attach_balances(actor: Any, contracts: list[Any]) -> None:
    balances = contract_balances(contracts)
    for c in contracts:
        c.export_balance = balances[c.pk]


def _balance(name: str) -> Any:
    return lambda c: getattr(c.export_balance, name)


def contract_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        field_column("contract", "number"),
        field_column("contract", "name"),
        field_column(
            "customer", "name", key="customer", label=_("客户"), value=lambda c: c.customer.name
        ),
        field_column("contract", "status", display=choice_display(ContractStatus.choices)),
        field_column("contract", "amount", value=lambda c: c.amount_value),
        field_column("contract", "currency"),
        field_column("contract", "signed_on"),
        field_column("contract", "start_date"),
        field_column("contract", "end_date"),
        field_column(
            "payment", "amount", key="received", label=_("已回款"), value=_balance("received")
        ),
        field_column(
            "contract",
            "amount",
            key="outstanding",
            label=_("未收余额"),
            value=_balance("outstanding"),
        ),
        field_column(
            "contract", "amount", key="overdue", label=_("逾期未收"), value=_balance("overdue")
        ),
        field_column("contract", "owner", value=lambda c: c.owner.name),
    ]


export_register(
    ExportSpec(
        entity="contract",
        label=_("合同"),
        columns=contract_columns,
        rows=_contract_rows,
        prepare=_attach_balances,
        list_url="contract_list",
    )
)


def _payment_rows(actor: Any, params: Any) -> QuerySet:
    filters = {
        k: params.get(k)
        for k in ("contract", "customer", "owner", "month")
        if params.get(k) and str(params.get(k)) != ""
    }
    return payment_queryset(actor=actor, filters=filters)


def payment_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        Column("contract_number", _("合同编号"), value=lambda p: p.contract.number),
        field_column(
            "customer",
            "name",
            key="customer",
            label=_("客户"),
            value=lambda p: p.contract.customer.name,
        ),
        Column("plan", _("期次"), value=lambda p: p.plan.seq if p.plan_id else ""),
        field_column("payment", "received_on"),
        field_column("payment", "amount"),
        field_column("payment", "method"),
        field_column("payment", "reference"),
        field_column("payment", "notes"),
        Column(
            "recorded_by", _("登记人"), value=lambda p: p.recorded_by.name if p.recorded_by else ""
        ),
    ]


export_register(
    ExportSpec(
        entity="payment",
        label=_("回款记录"),
        columns=payment_columns,
        rows=_payment_rows,
        list_url="payment_list",
    )
)
