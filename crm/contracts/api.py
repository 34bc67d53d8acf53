"""Contracts (合同), their payment plans (回款计划) and payments (回款记录).

Thin: parse input, call one selector or service, render. Money goes out through field
security like every other field: absent when hidden, "****" when masked (the same shapes
as the rest of the API); amounts are decimal strings ("1280000.00").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BeforeValidator

from crm.access import selectors as access_selectors
from crm.access.fieldsec import MASK, field_level, present
from crm.access.models import FieldAccess
from crm.contracts import selectors, services
from crm.contracts.models import Contract, ContractStatus, Payment
from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    cursor_errors,
    enum_schema,
    page_limit,
    page_out,
)
from crm.core.errors import NotFound, StaleVersion, ValidationFailed

router = Router()

CONTRACTS = ["contracts"]
PAYMENTS = ["payments"]
OWNER_PATTERN = r"^(me|team|[1-9][0-9]{0,17})$"


def _money_text(value: Any) -> Any:
    """A JSON number becomes its text; the service parses both (and "128万")."""
    if isinstance(value, bool):
        raise ValueError(_("请填写金额"))
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return value


# A money amount in: a JSON number, or text as people type it ("1,280,000.00", "128万").
MoneyIn = Annotated[
    Text,
    BeforeValidator(_money_text),
    Field(max_length=40, json_schema_extra={"examples": ["1280000.00", "128万"]}),
]
MoneyOut = Decimal | str | None


def _resolve(getter: Any, field: str, pk: int | None) -> Any:
    """A record chosen by id in the body: missing or invisible is the field's fault (422)."""
    if pk is None:
        return None
    try:
        return getter(pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _person(actor: Any, user: Any) -> str | None:
    if user is None:
        return None
    shown = present(actor, user, ["display_name", "username"])
    return shown.get("display_name") or shown.get("username") or None


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set a money value unless it is hidden (None from the selectors' MoneyAccess)."""
    if value is not None:
        out[key] = value


# ---------------------------------------------------------------- output shapes


class InstalmentOut(Schema):
    id: int
    seq: int
    due_date: dt.date
    amount: MoneyOut = None
    received: MoneyOut = None
    outstanding: MoneyOut = None
    state: str = Field(json_schema_extra=enum_schema(list(selectors.INSTALMENT_STATES)))
    days_overdue: int = 0
    notes: str = ""


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str
    created_at: dt.datetime


class ContractOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    number: str | None = None
    name: str | None = None
    amount: MoneyOut = None
    currency: str | None = None
    signed_on: dt.date | str | None = None
    start_date: dt.date | str | None = None
    end_date: dt.date | str | None = None
    status: str
    status_label: str
    status_reason: str = ""
    terms: str | None = None
    notes: str | None = None
    customer_id: int
    customer: str | None = None
    opportunity_id: int | None = None
    quote_id: int | None = None
    owner_id: int | None = None
    owner: str | None = None
    # The receivable: what was received and what is still owed (overdue: past due).
    received: MoneyOut = None
    outstanding: MoneyOut = None
    overdue: MoneyOut = None
    next_due: dt.date | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContractDetailOut(ContractOut):
    plan: list[InstalmentOut] = []
    attachments: list[AttachmentOut] = []
    actions: list[str] = Field(
        default_factory=list, description="状态操作：submit、withdraw、activate、close、cancel"
    )


class TotalsOut(Schema):
    count: int
    amount: Decimal
    received: Decimal
    outstanding: Decimal
    overdue: Decimal


class ContractPageOut(Schema):
    items: list[ContractOut]
    next: str | None = None
    totals: TotalsOut | None = Field(None, description="可以查看金额时才有：整个筛选结果的合计")


VALUE_FIELDS = [
    "number",
    "name",
    "amount",
    "currency",
    "signed_on",
    "start_date",
    "end_date",
    "terms",
    "notes",
]


def _contract_out(
    actor: Any, c: Contract, balance: selectors.Balance, access: selectors.MoneyAccess
) -> dict[str, Any]:
    shown = present(actor, c, [f for f in VALUE_FIELDS if f != "amount"])
    out: dict[str, Any] = {
        "id": c.pk,
        "version": c.version,
        **shown,
        "status": c.status,
        "status_label": c.get_status_display(),
        "status_reason": c.status_reason,
        "customer_id": c.customer_id,
        "customer": present(actor, c.customer, ["name"]).get("name", MASK),
        "opportunity_id": c.opportunity_id,
        "quote_id": c.quote_id,
        "next_due": balance.next_due,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }
    _put(out, "amount", access.amount(balance.amount))
    _put(out, "received", access.received(balance.received))
    _put(out, "outstanding", access.balance(balance.outstanding))
    _put(out, "overdue", access.balance(balance.overdue))
    owner_level = field_level(actor, "contract", "owner")
    if owner_level not in (FieldAccess.HIDDEN, FieldAccess.MASKED, FieldAccess.REVEAL):
        out["owner_id"] = c.owner_id
        out["owner"] = _person(actor, c.owner)
    return out


def _instalment_out(row: selectors.InstalmentRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.plan.pk,
        "seq": row.plan.seq,
        "due_date": row.plan.due_date,
        "state": row.state,
        "days_overdue": row.days_overdue,
        "notes": row.plan.notes,
    }
    _put(out, "amount", row.amount)
    _put(out, "received", row.received)
    _put(out, "outstanding", row.outstanding)
    return out


def _contract_detail(actor: Any, contract_id: int) -> dict[str, Any]:
    from django.urls import reverse

    d = selectors.contract_detail(actor=actor, contract_id=contract_id)
    return {
        **_contract_out(actor, d.contract, d.balance, d.access),
        "plan": [_instalment_out(r) for r in d.plan] if d.access.amount_shown else [],
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "content_type": a.content_type,
                "size": a.size,
                "url": reverse("contract_attachment", args=[a.pk]),
                "created_at": a.created_at,
            }
            for a in d.attachments
        ],
        "actions": [t.action for t in d.actions],
    }


# ---------------------------------------------------------------- contracts: list


class ContractFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="合同编号、名称或客户名称")
    status: Text | None = Field(
        None, max_length=20, json_schema_extra=enum_schema(ContractStatus.values)
    )
    owner: Text | None = Field(
        None, max_length=20, pattern=OWNER_PATTERN, description="me、team 或用户 id"
    )
    department: Id | None = Field(None, description="负责人所在部门（含下级部门）")
    customer: Id | None = None
    opportunity: Id | None = None
    signed: Text | None = Field(
        None, pattern=r"^[0-9]{4}-[0-9]{2}$", description="签约月份 YYYY-MM"
    )
    overdue: bool | None = Field(None, description="只看有逾期未收回款的合同")


@router.get(
    "/contracts",
    response={200: ContractPageOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_list(request: HttpRequest, filters: Query[ContractFilters]) -> dict:
    """Visible contracts, newest first, keyset-paginated. `totals` (the whole filtered set)
    only for callers who may read amounts."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.contract_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    access = selectors.money_access(actor)
    balances = selectors.contract_balances(page.items)
    out = page_out(page, lambda c: _contract_out(actor, c, balances[c.pk], access))
    totals = selectors.contract_totals(actor=actor, filters=values) if not filters.cursor else None
    if totals is not None:
        out["totals"] = {
            "count": totals.contracts,
            "amount": totals.amount,
            "received": totals.received,
            "outstanding": totals.outstanding,
            "overdue": totals.overdue,
        }
    return out


class ReceivableOut(Schema):
    customer_id: int
    contracts: int
    amount: Decimal
    received: Decimal
    outstanding: Decimal
    overdue: Decimal
    next_due: dt.date | None = None


class ReceivableParams(Schema):
    customer: Id


@router.get(
    "/contracts/receivable",
    response={200: ReceivableOut, **ERRORS},
    tags=CONTRACTS,
)
def contract_receivable(request: HttpRequest, params: Query[ReceivableParams]) -> dict:
    """A customer's receivable (应收) over the contracts the caller sees that are in force
    or ended: amount − received. 403 for callers who may not read amounts."""
    from crm.core.errors import PermissionDenied

    actor = request.user
    customer = selectors.customer_for_contract(actor=actor, customer_id=params.customer)
    balance = selectors.customer_receivable(actor=actor, customer_id=customer.pk)
    if balance is None:
        raise PermissionDenied(_("您无权查看合同金额"))
    return {
        "customer_id": customer.pk,
        "contracts": balance.contracts,
        "amount": balance.amount,
        "received": balance.received,
        "outstanding": balance.outstanding,
        "overdue": balance.overdue,
        "next_due": balance.next_due,
    }


# ---------------------------------------------------------------- contracts: write


class ContractCreateIn(Schema):
    """One of opportunity_id (a won opportunity), quote_id (a sent or accepted quote) or
    customer_id. From an opportunity or a quote, the name, amount and customer come from it
    unless given."""

    customer_id: Id | None = None
    opportunity_id: Id | None = None
    quote_id: Id | None = None
    number: Text = Field("", max_length=50, description="留空则自动编号（如 HT-2026-0001）")
    name: Text = Field(UNSET, max_length=200)
    amount: MoneyIn = Field(UNSET, description='数字，或 "1,280,000.00"、"128万"')
    currency: Text = Field(UNSET, max_length=3)
    signed_on: dt.date | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    terms: Text = Field("", max_length=10000)
    notes: Text = Field("", max_length=5000)
    owner_id: Id | None = Field(None, description="负责人，默认自己（或自己的下属）")


class ContractPatchIn(Schema):
    """Only the fields sent change; `version` is the one the client loaded. What may change
    depends on the status (key terms only while draft)."""

    version: int = Field(ge=0, le=INT32_MAX)
    number: Text = Field(UNSET, max_length=50)
    name: Text = Field(UNSET, max_length=200)
    amount: MoneyIn = Field(UNSET)
    currency: Text = Field(UNSET, max_length=3)
    signed_on: dt.date | None = Field(UNSET)
    start_date: dt.date | None = Field(UNSET)
    end_date: dt.date | None = Field(UNSET)
    terms: Text = Field(UNSET, max_length=10000)
    notes: Text = Field(UNSET, max_length=5000)
    customer_id: Id = Field(UNSET)
    owner_id: Id = Field(UNSET)


def _user_ref(actor: Any, pk: int | None, field: str) -> Any:
    return _resolve(lambda i: access_selectors.user_get(actor=actor, user_id=i), field, pk)


@router.post(
    "/contracts",
    response={201: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_create(request: HttpRequest, payload: ContractCreateIn) -> Status:
    actor = request.user
    data = payload.model_dump(
        exclude_unset=True, exclude={"customer_id", "opportunity_id", "quote_id", "owner_id"}
    )
    owner = _user_ref(actor, payload.owner_id, "owner_id")
    sources = [k for k in ("opportunity_id", "quote_id", "customer_id") if getattr(payload, k)]
    if not sources:
        raise ValidationFailed(_("请指定客户、赢单的商机或报价单"), field="customer_id")
    if payload.quote_id:
        quote = _resolve(
            lambda i: selectors.quote_for_contract(actor=actor, quote_id=i),
            "quote_id",
            payload.quote_id,
        )
        contract = services.contract_from_quote(actor=actor, quote=quote, data=data, owner=owner)
    elif payload.opportunity_id:
        opp = _resolve(
            lambda i: selectors.opportunity_for_contract(actor=actor, opportunity_id=i),
            "opportunity_id",
            payload.opportunity_id,
        )
        contract = services.contract_from_opportunity(
            actor=actor, opportunity=opp, data=data, owner=owner
        )
    else:
        customer = _resolve(
            lambda i: selectors.customer_for_contract(actor=actor, customer_id=i),
            "customer_id",
            payload.customer_id,
        )
        contract = services.contract_create(actor=actor, customer=customer, data=data, owner=owner)
    return Status(201, _contract_detail(actor, contract.pk))


@router.get(
    "/contracts/{contract_id}",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_detail(request: HttpRequest, contract_id: Id) -> dict:
    """One contract with its plan (per instalment: received, outstanding, state), its
    attachments (for those who may read the amount) and the status actions open to you."""
    return _contract_detail(request.user, contract_id)


def _stale(actor: Any, contract_id: int, exc: StaleVersion) -> StaleVersion:
    # The service's snapshot is raw column values (a clear amount): send what this caller sees.
    return StaleVersion(exc.message, current=_contract_detail(actor, contract_id))


@router.patch(
    "/contracts/{contract_id}",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_update(request: HttpRequest, contract_id: Id, payload: ContractPatchIn) -> dict:
    """A stale `version` is refused with 409 and the record as you see it in `current`."""
    actor = request.user
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if "customer_id" in changes:
        changes["customer"] = _resolve(
            lambda i: selectors.customer_for_contract(actor=actor, customer_id=i),
            "customer_id",
            changes.pop("customer_id"),
        )
    if "owner_id" in changes:
        changes["owner"] = _user_ref(actor, changes.pop("owner_id"), "owner_id")
    try:
        services.contract_update(
            actor=actor, contract=contract, expected_version=version, data=changes
        )
    except StaleVersion as exc:
        raise _stale(actor, contract_id, exc) from exc
    return _contract_detail(actor, contract_id)


@router.delete("/contracts/{contract_id}", response={204: None, **ERRORS}, tags=CONTRACTS)
def contract_delete(request: HttpRequest, contract_id: Id) -> Status:
    """To the recycle bin (restorable). A contract with payments is cancelled instead."""
    actor = request.user
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    services.contract_delete(actor=actor, contract=contract)
    return Status(204, None)


class TransitionIn(Schema):
    version: int | None = Field(None, ge=0, le=INT32_MAX, description="加载时的版本（可选）")
    reason: Text = Field("", max_length=300, description="作废时必填")


def _transition(request: HttpRequest, contract_id: int, action: str, payload: TransitionIn) -> dict:
    actor = request.user
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    try:
        services.contract_transition(
            actor=actor,
            contract=contract,
            action=action,
            expected_version=payload.version,
            reason=payload.reason,
        )
    except StaleVersion as exc:
        raise _stale(actor, contract_id, exc) from exc
    return _contract_detail(actor, contract_id)


@router.post(
    "/contracts/{contract_id}/submit",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_submit(request: HttpRequest, contract_id: Id, payload: TransitionIn) -> dict:
    """草稿 → 审批中 (needs the signing date and the amount)."""
    return _transition(request, contract_id, "submit", payload)


@router.post(
    "/contracts/{contract_id}/withdraw",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_withdraw(request: HttpRequest, contract_id: Id, payload: TransitionIn) -> dict:
    """审批中 → 草稿."""
    return _transition(request, contract_id, "withdraw", payload)


@router.post(
    "/contracts/{contract_id}/activate",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_activate(request: HttpRequest, contract_id: Id, payload: TransitionIn) -> dict:
    """审批中 → 执行中: the owner's managers or an administrator approve."""
    return _transition(request, contract_id, "activate", payload)


@router.post(
    "/contracts/{contract_id}/close",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_close(request: HttpRequest, contract_id: Id, payload: TransitionIn) -> dict:
    """执行中 → 已结束 (an unpaid balance stays receivable)."""
    return _transition(request, contract_id, "close", payload)


@router.post(
    "/contracts/{contract_id}/cancel",
    response={200: ContractDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_cancel(request: HttpRequest, contract_id: Id, payload: TransitionIn) -> dict:
    """草稿 / 审批中 / 执行中 → 已作废, with a reason."""
    return _transition(request, contract_id, "cancel", payload)


# ---------------------------------------------------------------- plan


class InstalmentIn(Schema):
    due_date: dt.date
    amount: MoneyIn
    notes: Text = Field("", max_length=200)


class PlanIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    instalments: list[InstalmentIn] = Field(max_length=60)


class PlanGenerateIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    count: int = Field(ge=1, le=60, description="期数")
    first_due: dt.date
    months_between: int = Field(1, ge=0, le=24)


def _plan_out(actor: Any, contract: Contract) -> list[dict[str, Any]]:
    if not selectors.money_access(actor).amount_shown:
        return []
    plans = selectors.contract_plans(actor=actor, contract=contract)
    return [_instalment_out(r) for r in selectors.instalment_rows(actor, plans)]


@router.get(
    "/contracts/{contract_id}/plan",
    response={200: list[InstalmentOut], **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_plan(request: HttpRequest, contract_id: Id) -> list[dict[str, Any]]:
    """The payment plan: per instalment what is due, received, outstanding and its state
    (paid, overdue, due_soon, partial, open). Empty when the amount is hidden from you."""
    actor = request.user
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    return _plan_out(actor, contract)


def _plan_write(actor: Any, contract_id: int, call: Any) -> list[dict[str, Any]]:
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    if not selectors.money_access(actor).amount_clear:
        from crm.core.errors import PermissionDenied

        raise PermissionDenied(_("您无权查看合同金额，不能修改回款计划"))
    try:
        call(contract)
    except StaleVersion as exc:
        raise _stale(actor, contract_id, exc) from exc
    return _plan_out(actor, contract)


@router.put(
    "/contracts/{contract_id}/plan",
    response={200: list[InstalmentOut], **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_plan_set(
    request: HttpRequest, contract_id: Id, payload: PlanIn
) -> list[dict[str, Any]]:
    """Replace the plan (instalment n keeps its payments). The sum may not exceed the
    contract amount; an instalment with payments cannot go or drop below them. `version`
    is the contract's."""
    actor = request.user
    rows = [i.model_dump() for i in payload.instalments]
    return _plan_write(
        actor,
        contract_id,
        lambda c: services.contract_plan_set(
            actor=actor, contract=c, expected_version=payload.version, instalments=rows
        ),
    )


@router.post(
    "/contracts/{contract_id}/plan/generate",
    response={200: list[InstalmentOut], **ERRORS},
    exclude_unset=True,
    tags=CONTRACTS,
)
def contract_plan_generate(
    request: HttpRequest, contract_id: Id, payload: PlanGenerateIn
) -> list[dict[str, Any]]:
    """Replace the plan with `count` equal instalments of the contract amount, every
    `months_between` months from `first_due` (the last one takes the rounding remainder)."""
    actor = request.user
    return _plan_write(
        actor,
        contract_id,
        lambda c: services.contract_plan_generate(
            actor=actor,
            contract=c,
            expected_version=payload.version,
            count=payload.count,
            first_due=payload.first_due,
            months_between=payload.months_between,
        ),
    )


# ---------------------------------------------------------------- payments


class PaymentOut(Schema):
    id: int
    version: int
    contract_id: int
    contract_number: str
    customer_id: int
    customer: str | None = None
    plan_id: int | None = None
    plan_seq: int | None = None
    # Subject to field-level security: absent when hidden, "****" when masked.
    amount: MoneyOut = None
    received_on: dt.date | str | None = None
    method: str | None = None
    reference: str | None = None
    notes: str | None = None
    recorded_by_id: int | None = None
    recorded_by: str | None = None
    created_at: dt.datetime


def _payment_out(actor: Any, p: Payment) -> dict[str, Any]:
    contract = p.contract
    return {
        "id": p.pk,
        "version": p.version,
        "contract_id": contract.pk,
        "contract_number": contract.number,
        "customer_id": contract.customer_id,
        "customer": present(actor, contract.customer, ["name"]).get("name", MASK),
        "plan_id": p.plan_id,
        "plan_seq": p.plan.seq if p.plan else None,
        **present(actor, p),
        "recorded_by_id": p.recorded_by_id,
        "recorded_by": _person(actor, p.recorded_by),
        "created_at": p.created_at,
    }


class PaymentFilters(ListParams):
    contract: Id | None = None
    customer: Id | None = None
    owner: Text | None = Field(
        None, max_length=20, pattern=OWNER_PATTERN, description="合同负责人：me、team 或用户 id"
    )
    month: Text | None = Field(None, pattern=r"^[0-9]{4}-[0-9]{2}$", description="回款月份 YYYY-MM")
    received_from: dt.date | None = None
    received_to: dt.date | None = None


@router.get(
    "/payments",
    response={200: PageOut[PaymentOut], **ERRORS},
    exclude_unset=True,
    tags=PAYMENTS,
)
def payment_list(request: HttpRequest, filters: Query[PaymentFilters]) -> dict:
    """Payments (回款记录) you may see, newest first, keyset-paginated."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.payment_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda p: _payment_out(actor, p))


class PaymentCreateIn(Schema):
    contract_id: Id
    plan_id: Id | None = Field(None, description="对应的期次；不填则按到期先后自动冲抵")
    amount: MoneyIn
    received_on: dt.date | None = Field(None, description="默认今天")
    method: Text = Field("", max_length=30, description="银行转账、承兑汇票…")
    reference: Text = Field("", max_length=100, description="银行流水号、票据号")
    notes: Text = Field("", max_length=300)


@router.post(
    "/payments",
    response={201: PaymentOut, **ERRORS},
    exclude_unset=True,
    tags=PAYMENTS,
)
def payment_create(request: HttpRequest, payload: PaymentCreateIn) -> Status:
    """Record money received against a contract in force. More than the contract's (or the
    instalment's) unpaid balance is refused (422 on amount, naming the balance)."""
    actor = request.user
    contract = _resolve(
        lambda i: selectors.contract_get(actor=actor, contract_id=i),
        "contract_id",
        payload.contract_id,
    )
    data = payload.model_dump(exclude={"contract_id", "plan_id"}, exclude_none=True)
    try:
        plan = (
            selectors.plan_get(actor=actor, contract=contract, plan_id=payload.plan_id)
            if payload.plan_id
            else None
        )
        payment = services.payment_create(actor=actor, contract=contract, data=data, plan=plan)
    except ValidationFailed as exc:
        if exc.field == "plan":
            raise ValidationFailed(exc.message, field="plan_id") from exc
        raise
    return Status(
        201, _payment_out(actor, selectors.payment_get(actor=actor, payment_id=payment.pk))
    )


@router.get(
    "/payments/{payment_id}",
    response={200: PaymentOut, **ERRORS},
    exclude_unset=True,
    tags=PAYMENTS,
)
def payment_detail(request: HttpRequest, payment_id: Id) -> dict:
    actor = request.user
    return _payment_out(actor, selectors.payment_get(actor=actor, payment_id=payment_id))


@router.delete("/payments/{payment_id}", response={204: None, **ERRORS}, tags=PAYMENTS)
def payment_delete(request: HttpRequest, payment_id: Id) -> Status:
    """To the recycle bin (a wrong entry; finance by default). The plan follows."""
    actor = request.user
    payment = selectors.payment_get(actor=actor, payment_id=payment_id)
    services.payment_delete(actor=actor, payment=payment)
    return Status(204, None)


__all__ = ["router"]
