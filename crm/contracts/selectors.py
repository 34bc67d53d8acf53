"""Every read of contracts, plans, payments and receivables, starting from visible().

Money leaves only through field security: the contract amount's level decides the amount,
the plan's amounts and the receivable; the payment amount's level decides what was
received. Because the contract amount is encrypted, sums that involve it are computed in
Python from a few rows (id, amount) — three queries per page or per customer, whatever
the number of contracts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import MASK, field_level, present
from crm.access.models import FieldAccess
from crm.access.visibility import can, report_ids, visible, visible_get
from crm.contracts import config, policies
from crm.contracts.models import (
    Contract,
    ContractAttachment,
    ContractStatus,
    Payment,
    PaymentPlan,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, paginate

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def _cents(value: Decimal | None) -> Decimal:
    """Sums come back from SQLite unscaled (40000, not 40000.00): two places everywhere."""
    return (value or ZERO).quantize(CENT)


CLEAR = (FieldAccess.READONLY, FieldAccess.EDITABLE)
MASKED = (FieldAccess.MASKED, FieldAccess.REVEAL)
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


# ----------------------------------------------------------------- money and field security


@dataclass(frozen=True)
class MoneyAccess:
    """What the actor may see of contract money (levels of the two amount fields)."""

    contract: str
    payment: str

    @property
    def amount_shown(self) -> bool:
        return self.contract != FieldAccess.HIDDEN

    @property
    def amount_clear(self) -> bool:
        return self.contract in CLEAR

    @property
    def amount_revealable(self) -> bool:
        return self.contract == FieldAccess.REVEAL

    @property
    def received_shown(self) -> bool:
        return self.payment != FieldAccess.HIDDEN

    @property
    def received_clear(self) -> bool:
        return self.payment in CLEAR

    @property
    def balance_shown(self) -> bool:
        return self.amount_shown and self.received_shown

    @property
    def balance_clear(self) -> bool:
        return self.amount_clear and self.received_clear

    def amount(self, value: Decimal) -> Decimal | str | None:
        """The contract amount (or a plan amount) as this actor sees it; None = hidden."""
        return _shown(self.contract, value)

    def received(self, value: Decimal) -> Decimal | str | None:
        return _shown(self.payment, value)

    def balance(self, value: Decimal) -> Decimal | str | None:
        if not self.balance_shown:
            return None
        return value if self.balance_clear else MASK


def _shown(level: str, value: Decimal) -> Decimal | str | None:
    if level == FieldAccess.HIDDEN:
        return None
    if level in MASKED:
        return MASK
    return value


def money_access(actor: Any) -> MoneyAccess:
    return MoneyAccess(
        contract=field_level(actor, "contract", "amount"),
        payment=field_level(actor, "payment", "amount"),
    )


# ----------------------------------------------------------------- balances


@dataclass
class Balance:
    amount: Decimal = ZERO
    received: Decimal = ZERO
    overdue: Decimal = ZERO  # instalments past due and not received
    next_due: dt.date | None = None
    contracts: int = 0

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.received, ZERO)


def _received_by_contract(ids: list[int] | QuerySet) -> dict[int, Decimal]:
    rows = (
        Payment.objects.filter(contract_id__in=ids)
        .values("contract_id")
        .annotate(s=Sum("amount"))
        .values_list("contract_id", "s")
    )
    return {cid: _cents(s) for cid, s in rows}


def _plans_by_contract(ids: list[int] | QuerySet, today: dt.date) -> dict[int, tuple[Decimal, Any]]:
    """(overdue amount, next due date) of each contract's open instalments."""
    out: dict[int, tuple[Decimal, Any]] = {}
    rows = (
        PaymentPlan.objects.filter(contract_id__in=ids, received__lt=F("amount"))
        .values_list("contract_id", "due_date", "amount", "received")
        .order_by("due_date")
    )
    for cid, due, amount, received in rows:
        overdue, next_due = out.get(cid, (ZERO, None))
        if due < today:
            overdue += amount - received
        elif next_due is None:
            next_due = due
        out[cid] = (overdue, next_due)
    return out


def contract_balances(
    contracts: list[Contract], *, today: dt.date | None = None
) -> dict[int, Balance]:
    """Amount, received, overdue and next due date of each contract (two queries)."""
    today = today or timezone.localdate()
    ids = [c.pk for c in contracts]
    if not ids:
        return {}
    received = _received_by_contract(ids)
    plans = _plans_by_contract(ids, today)
    out = {}
    for c in contracts:
        overdue, next_due = plans.get(c.pk, (ZERO, None))
        out[c.pk] = Balance(
            amount=c.amount_value,
            received=received.get(c.pk, ZERO),
            overdue=overdue,
            next_due=next_due,
            contracts=1,
        )
    return out


def _balance_of(qs: QuerySet[Contract], today: dt.date) -> Balance:
    """The sum over a queryset of contracts, decrypting only (id, amount) of each."""
    total = Balance()
    amounts: dict[int, str] = dict(qs.order_by().values_list("id", "amount"))
    if not amounts:
        return total
    ids = qs.order_by().values("id")
    for value in amounts.values():
        try:
            total.amount += Decimal(value or "0")
        except ArithmeticError:
            continue
    total.contracts = len(amounts)
    total.received = sum(_received_by_contract(ids).values(), ZERO)
    for overdue, next_due in _plans_by_contract(ids, today).values():
        total.overdue += overdue
        if next_due and (total.next_due is None or next_due < total.next_due):
            total.next_due = next_due
    return total


# ----------------------------------------------------------------- contract lists


def _int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("筛选条件无效"), field=name) from exc
    if number < 1 or number > 2**63 - 1:
        raise ValidationFailed(_("筛选条件无效"), field=name)
    return number


def month_range(value: str) -> tuple[dt.date, dt.date]:
    match = MONTH_RE.match((value or "").strip())
    if not match:
        raise ValidationFailed(_("月份格式应为 2026-11"), field="signed")
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        raise ValidationFailed(_("月份格式应为 2026-11"), field="signed")
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _contracts_filtered(actor: Any, filters: dict[str, Any]) -> QuerySet[Contract]:
    qs = visible(actor, Contract)
    get = filters.get
    q = str(get("q") or "").strip()[:100]
    if q:
        qs = qs.filter(
            Q(number__icontains=q) | Q(name__icontains=q) | Q(customer__name__icontains=q)
        )
    status = get("status")
    if status:
        if status not in ContractStatus.values:
            raise ValidationFailed(_("状态无效"), field="status")
        qs = qs.filter(status=status)
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(owner_id=_int(owner, "owner"))
    department = _int(get("department"), "department")
    if department:
        from crm.access.models import Department

        dept = Department.objects.filter(pk=department).first()
        qs = qs.filter(owner__department__path__startswith=dept.path) if dept else qs.none()
    customer = _int(get("customer"), "customer")
    if customer:
        qs = qs.filter(customer_id=customer)
    opportunity = _int(get("opportunity"), "opportunity")
    if opportunity:
        qs = qs.filter(opportunity_id=opportunity)
    signed = get("signed")
    if signed:
        start, end = month_range(str(signed))
        qs = qs.filter(signed_on__gte=start, signed_on__lt=end)
    if get("overdue"):
        today = timezone.localdate()
        late = PaymentPlan.objects.filter(due_date__lt=today, received__lt=F("amount"))
        qs = qs.filter(pk__in=late.values("contract_id"))
    return qs


def contract_queryset(*, actor: Any, filters: dict[str, Any]) -> QuerySet[Contract]:
    """Visible contracts filtered like the list page, newest first."""
    return (
        _contracts_filtered(actor, filters)
        .select_related("customer", "owner", "owner__department")
        .order_by("-id")
    )


def contract_list(
    *, actor: Any, filters: dict[str, Any], cursor: str | None = None, limit: int = 25
) -> Page:
    qs = contract_queryset(actor=actor, filters=filters)
    return paginate(qs, ordering=("-id",), cursor=cursor, limit=limit)


def contract_totals(*, actor: Any, filters: dict[str, Any]) -> Balance | None:
    """Totals of the filtered list; None when the actor may not read contract amounts."""
    access = money_access(actor)
    if not access.balance_clear:
        return None
    return _balance_of(_contracts_filtered(actor, filters), timezone.localdate())


@dataclass
class ContractRow:
    obj: Contract
    values: dict[str, Any]
    customer: str
    owner: str
    amount: Any
    received: Any
    outstanding: Any
    overdue: Any
    next_due: dt.date | None


def _person(actor: Any, user: Any) -> str:
    if user is None:
        return ""
    shown = present(actor, user, ["display_name", "username"])
    return str(shown.get("display_name") or shown.get("username") or "")


def contract_rows(actor: Any, contracts: list[Contract]) -> list[ContractRow]:
    """Each contract through field security, with its balance."""
    access = money_access(actor)
    balances = contract_balances(contracts)
    rows = []
    for c in contracts:
        b = balances[c.pk]
        values = present(actor, c, ["number", "name", "status", "signed_on", "end_date"])
        owner_level = field_level(actor, "contract", "owner")
        rows.append(
            ContractRow(
                obj=c,
                values=values,
                customer=str(present(actor, c.customer, ["name"]).get("name") or MASK),
                owner="" if owner_level == FieldAccess.HIDDEN else _person(actor, c.owner),
                amount=access.amount(b.amount),
                received=access.received(b.received),
                outstanding=access.balance(b.outstanding),
                overdue=access.balance(b.overdue) if b.overdue else None,
                next_due=b.next_due,
            )
        )
    return rows


def contract_get(*, actor: Any, contract_id: Any) -> Contract:
    return visible_get(
        actor,
        Contract.objects.select_related("customer", "owner", "opportunity", "quote"),
        contract_id,
    )


# ----------------------------------------------------------------- contract detail


@dataclass
class InstalmentRow:
    plan: PaymentPlan
    amount: Any
    received: Any
    outstanding: Any
    state: str  # paid, overdue, due_soon, open
    days_overdue: int = 0

    @property
    def state_label(self) -> str:
        return str(INSTALMENT_STATES.get(self.state, self.state))


INSTALMENT_STATES = {
    "paid": _("已收齐"),
    "overdue": _("已逾期"),
    "due_soon": _("即将到期"),
    "open": _("未到期"),
    "partial": _("部分回款"),
}


def _instalment_state(plan: PaymentPlan, today: dt.date, soon: int) -> tuple[str, int]:
    if plan.received >= plan.amount:
        return "paid", 0
    if plan.due_date < today:
        return "overdue", (today - plan.due_date).days
    if plan.due_date <= today + dt.timedelta(days=soon):
        return "due_soon", 0
    return ("partial" if plan.received > 0 else "open"), 0


def instalment_rows(
    actor: Any, plans: list[PaymentPlan], *, today: dt.date | None = None
) -> list[InstalmentRow]:
    access = money_access(actor)
    today = today or timezone.localdate()
    soon = int(config.contract_settings().get("due_soon_days") or 30)
    rows = []
    for p in plans:
        state, late = _instalment_state(p, today, soon)
        rows.append(
            InstalmentRow(
                plan=p,
                amount=access.amount(p.amount),
                received=access.balance(p.received),
                outstanding=access.balance(p.outstanding),
                state=state,
                days_overdue=late,
            )
        )
    return rows


@dataclass
class PaymentRow:
    obj: Payment
    values: dict[str, Any]
    recorded_by: str
    can_delete: bool


def payment_rows(actor: Any, payments: list[Payment]) -> list[PaymentRow]:
    from crm.core.recyclebin import record_can_delete

    may_delete = can(actor, "delete", Payment)
    return [
        PaymentRow(
            obj=p,
            values=present(actor, p),
            recorded_by=_person(actor, p.recorded_by),
            can_delete=may_delete and record_can_delete(actor, p),
        )
        for p in payments
    ]


@dataclass
class ContractDetail:
    contract: Contract
    values: dict[str, Any]
    access: MoneyAccess
    balance: Balance
    amount: Any
    received: Any
    outstanding: Any
    overdue: Any
    plan: list[InstalmentRow]
    plan_total: Any
    plan_unassigned: Any
    payments: list[PaymentRow]
    attachments: list[ContractAttachment]
    actions: list[policies.Transition]
    can_edit: bool
    can_delete: bool
    can_edit_plan: bool
    can_pay: bool
    can_attach: bool
    can_remove_attachments: bool
    attachments_visible: bool
    editable_fields: frozenset[str] = field(default_factory=frozenset)


def contract_detail(*, actor: Any, contract_id: Any) -> ContractDetail:
    contract = contract_get(actor=actor, contract_id=contract_id)
    access = money_access(actor)
    balance = contract_balances([contract])[contract.pk]
    plans = list(PaymentPlan.objects.filter(contract_id=contract.pk).order_by("seq"))
    payments: list[Payment] = []
    if can(actor, "view", Payment):
        payments = list(
            visible(actor, Payment)
            .filter(contract_id=contract.pk)
            .select_related("plan", "recorded_by")
            .order_by("-received_on", "-id")
        )
    plan_total = sum((p.amount for p in plans), ZERO)
    can_edit = can(actor, "edit", contract)
    # A contract's files show its amount: only for those who may read the amount.
    attachments_visible = access.amount_clear
    attachments = (
        list(
            ContractAttachment.objects.filter(contract_id=contract.pk).select_related("uploaded_by")
        )
        if attachments_visible
        else []
    )
    return ContractDetail(
        contract=contract,
        values=present(actor, contract),
        access=access,
        balance=balance,
        amount=access.amount(balance.amount),
        received=access.received(balance.received),
        outstanding=access.balance(balance.outstanding),
        overdue=access.balance(balance.overdue) if balance.overdue else None,
        plan=instalment_rows(actor, plans),
        plan_total=access.amount(plan_total),
        plan_unassigned=access.amount(max(balance.amount - plan_total, ZERO)) if plans else None,
        payments=payment_rows(actor, payments),
        attachments=attachments,
        actions=policies.contract_actions(actor, contract),
        can_edit=can_edit and bool(policies.contract_editable_fields(contract)),
        can_delete=can(actor, "delete", contract) and not payments and not balance.received,
        can_edit_plan=policies.contract_can_edit_plan(actor, contract),
        can_pay=(
            contract.status in policies.PAYABLE
            and can(actor, "create", Payment)
            and balance.outstanding > 0
        ),
        can_attach=attachments_visible and policies.contract_can_attach(actor, contract),
        can_remove_attachments=can_edit and contract.status in policies.ATTACHMENT_REMOVABLE,
        attachments_visible=attachments_visible,
        editable_fields=policies.contract_editable_fields(contract),
    )


def contract_plans(*, actor: Any, contract: Contract) -> list[PaymentPlan]:
    """The instalments of a contract the caller has already loaded through contract_get."""
    return list(PaymentPlan.objects.filter(contract_id=contract.pk).order_by("seq"))


def plan_get(*, actor: Any, contract: Contract, plan_id: Any) -> PaymentPlan:
    """One instalment of a visible contract (422 on the field when it is not one of them)."""
    try:
        return PaymentPlan.objects.get(contract_id=contract.pk, pk=int(plan_id))
    except (TypeError, ValueError, PaymentPlan.DoesNotExist) as exc:
        raise ValidationFailed(_("所选期次不属于该合同"), field="plan") from exc


def attachment_get(*, actor: Any, attachment_id: Any) -> ContractAttachment:
    """An attachment, only when the actor sees its contract and may read its amount."""
    try:
        att = ContractAttachment.objects.select_related("contract").get(pk=int(attachment_id))
    except (TypeError, ValueError, OverflowError, ContractAttachment.DoesNotExist) as exc:
        raise NotFound() from exc
    if not can(actor, "view", att.contract) or not money_access(actor).amount_clear:
        raise NotFound()
    return att


# ----------------------------------------------------------------- customers and opportunities


@dataclass
class ContractGroup:
    rows: list[ContractRow]
    balance: Balance | None  # None: the actor may not read the receivable
    more: int = 0
    access: MoneyAccess | None = None


def _receivable(qs: QuerySet[Contract], access: MoneyAccess) -> Balance | None:
    if not access.balance_clear:
        return None
    return _balance_of(qs.filter(status__in=policies.RECEIVABLE), timezone.localdate())


def customer_contracts(*, actor: Any, customer_id: int, limit: int = 10) -> ContractGroup:
    """The customer's contracts the actor sees (newest first) and the receivable over all
    of them (amount − received of the contracts in force or ended)."""
    qs = visible(actor, Contract).filter(customer_id=customer_id)
    access = money_access(actor)
    shown = list(qs.select_related("customer", "owner")[: limit + 1])
    more = 0
    if len(shown) > limit:
        shown = shown[:limit]
        more = qs.count() - limit
    return ContractGroup(
        rows=contract_rows(actor, shown),
        balance=_receivable(qs, access),
        more=more,
        access=access,
    )


def customer_receivable(*, actor: Any, customer_id: int) -> Balance | None:
    """Receivable of one customer over the contracts the actor sees; None when the actor
    may not read amounts. Three queries for any number of contracts."""
    qs = visible(actor, Contract).filter(customer_id=customer_id)
    return _receivable(qs, money_access(actor))


def opportunity_contracts(*, actor: Any, opportunity_id: int) -> ContractGroup:
    qs = visible(actor, Contract).filter(opportunity_id=opportunity_id)
    access = money_access(actor)
    shown = list(qs.select_related("customer", "owner")[:50])
    return ContractGroup(rows=contract_rows(actor, shown), balance=None, access=access)


def opportunity_for_contract(*, actor: Any, opportunity_id: Any) -> Any:
    from crm.opportunities.models import Opportunity

    return visible_get(actor, Opportunity.objects.select_related("customer"), opportunity_id)


def quote_for_contract(*, actor: Any, quote_id: Any) -> Any:
    from crm.quotes.models import Quote

    return visible_get(actor, Quote.objects.select_related("customer", "opportunity"), quote_id)


def customer_for_contract(*, actor: Any, customer_id: Any) -> Any:
    from crm.customers.models import Customer

    return visible_get(actor, Customer, customer_id)


# ----------------------------------------------------------------- payments and receivables


def payment_queryset(*, actor: Any, filters: dict[str, Any]) -> QuerySet[Payment]:
    """Visible payments of live contracts, filtered like the payments page, newest first."""
    qs = visible(actor, Payment).filter(contract__deleted_at__isnull=True)
    get = filters.get
    contract = _int(get("contract"), "contract")
    if contract:
        qs = qs.filter(contract_id=contract)
    customer = _int(get("customer"), "customer")
    if customer:
        qs = qs.filter(contract__customer_id=customer)
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(contract__owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(contract__owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(contract__owner_id=_int(owner, "owner"))
    month = get("month")
    if month:
        start, end = month_range(str(month))
        qs = qs.filter(received_on__gte=start, received_on__lt=end)
    for key, lookup in (("received_from", "gte"), ("received_to", "lte")):
        value = get(key)
        if value:
            try:
                day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            except ValueError as exc:
                raise ValidationFailed(_("日期格式应为 2026-11-21"), field=key) from exc
            qs = qs.filter(**{f"received_on__{lookup}": day})
    return qs.select_related("contract", "contract__customer", "plan", "recorded_by").order_by(
        "-received_on", "-id"
    )


def payment_list(
    *, actor: Any, filters: dict[str, Any], cursor: str | None = None, limit: int = 25
) -> Page:
    qs = payment_queryset(actor=actor, filters=filters)
    return paginate(qs, ordering=("-received_on", "-id"), cursor=cursor, limit=limit)


def payment_get(*, actor: Any, payment_id: Any) -> Payment:
    return visible_get(
        actor,
        Payment.objects.filter(contract__deleted_at__isnull=True).select_related(
            "contract", "contract__customer", "plan", "recorded_by"
        ),
        payment_id,
    )


INSTALMENT_VIEWS = ("overdue", "due", "open")


@dataclass
class InstalmentLine:
    row: InstalmentRow
    contract: Contract
    customer: str
    owner: str


def _instalments_filtered(actor: Any, filters: dict[str, Any], today: dt.date) -> QuerySet:
    view = filters.get("view") or "overdue"
    if view not in INSTALMENT_VIEWS:
        raise ValidationFailed(_("视图无效"), field="view")
    qs = PaymentPlan.objects.filter(
        contract__in=visible(actor, Contract).filter(status__in=policies.RECEIVABLE).values("pk"),
        received__lt=F("amount"),
    )
    soon = int(config.contract_settings().get("due_soon_days") or 30)
    if view == "overdue":
        qs = qs.filter(due_date__lt=today)
    elif view == "due":
        qs = qs.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=soon))
    customer = _int(filters.get("customer"), "customer")
    if customer:
        qs = qs.filter(contract__customer_id=customer)
    owner = filters.get("owner")
    if owner == "me":
        qs = qs.filter(contract__owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(contract__owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(contract__owner_id=_int(owner, "owner"))
    return qs


def instalment_list(
    *,
    actor: Any,
    filters: dict[str, Any],
    cursor: str | None = None,
    limit: int = 25,
    today: dt.date | None = None,
) -> Page:
    """Receivables (应收): open instalments of visible contracts in force — overdue, due
    within the settings' days, or every open one — earliest due first."""
    today = today or timezone.localdate()
    qs = _instalments_filtered(actor, filters, today).select_related(
        "contract", "contract__customer", "contract__owner"
    )
    page = paginate(qs, ordering=("due_date", "id"), cursor=cursor, limit=limit)
    rows = instalment_rows(actor, page.items, today=today)
    lines = [
        InstalmentLine(
            row=r,
            contract=r.plan.contract,
            customer=str(present(actor, r.plan.contract.customer, ["name"]).get("name") or MASK),
            owner=_person(actor, r.plan.contract.owner),
        )
        for r in rows
    ]
    return Page(items=lines, next=page.next)


@dataclass
class ReceivableSummary:
    overdue: Any
    overdue_count: int
    due: Any
    due_count: int
    due_days: int


def receivable_summary(*, actor: Any, today: dt.date | None = None) -> ReceivableSummary:
    """Totals for the receivables page header: overdue, and due within the settings' days."""
    today = today or timezone.localdate()
    access = money_access(actor)
    soon = int(config.contract_settings().get("due_soon_days") or 30)
    out: dict[str, tuple[Decimal, int]] = {}
    for view in ("overdue", "due"):
        qs = _instalments_filtered(actor, {"view": view}, today)
        agg = qs.aggregate(a=Sum("amount"), r=Sum("received"))
        count = qs.count()
        out[view] = (_cents(agg["a"]) - _cents(agg["r"]), count)
    return ReceivableSummary(
        overdue=access.balance(out["overdue"][0]),
        overdue_count=out["overdue"][1],
        due=access.balance(out["due"][0]),
        due_count=out["due"][1],
        due_days=soon,
    )


def contract_owner_choices(*, actor: Any, include: Any = None) -> list[Any]:
    from crm.customers.selectors import customer_owner_shortlist

    return customer_owner_shortlist(actor=actor, include=include)
