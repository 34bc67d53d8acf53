"""Every write to contracts, their payment plans, payments and attachments.

Rules in one place: the status machine is crm.contracts.policies; amounts are Decimal with
two places (the contract amount is stored encrypted, so the sums that involve it are
computed here in Python, never in SQL); every write is audited. The contract amount never
reaches the audit log or the timeline in clear.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import field_level, require_writable
from crm.access.models import FieldAccess
from crm.access.visibility import is_admin, report_ids, require
from crm.audit.services import audit_record, diff
from crm.contracts import config, events, policies
from crm.contracts.models import (
    Contract,
    ContractAttachment,
    ContractNumberCounter,
    ContractStatus,
    Payment,
    PaymentPlan,
)
from crm.core.crypto import encrypt_text
from crm.core.errors import Conflict, PermissionDenied, ValidationFailed
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers.models import Customer
from crm.search.services import search_index, search_remove

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")  # 16 digits, 2 decimals (the plan/payment columns)
MAX_INSTALMENTS = 60
CONTRACT_FIELDS = [
    "number",
    "name",
    "customer",
    "amount",
    "currency",
    "signed_on",
    "start_date",
    "end_date",
    "terms",
    "notes",
    "owner",
]
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/.()（）]*$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,19}$")


# ----------------------------------------------------------------- values


def amount_parse(value: Any, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """A money amount as people type it: 1280000, 1,280,000.00, ¥128万, ￥1 280 000."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, (str, float)):
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = re.sub(r"[\s,¥￥]|元$|^CNY|^RMB", "", text, flags=re.IGNORECASE)
        factor = Decimal(1)
        if text.endswith("万"):
            factor, text = Decimal(10000), text[:-1]
        elif text.endswith("亿"):
            factor, text = Decimal(100_000_000), text[:-1]
        if not text:
            raise ValidationFailed(_("请填写金额"), field=field)
        try:
            result = Decimal(text) * factor
        except InvalidOperation as exc:
            raise ValidationFailed(
                _("金额格式不对，请填写数字，例如 1280000 或 128万"), field=field
            ) from exc
    else:
        raise ValidationFailed(_("请填写金额"), field=field)
    if not result.is_finite():
        raise ValidationFailed(_("金额格式不对，请填写数字，例如 1280000 或 128万"), field=field)
    if result > MAX_AMOUNT:
        raise ValidationFailed(_("金额过大"), field=field)
    if result < 0 or (result == 0 and not allow_zero):
        raise ValidationFailed(_("金额必须大于 0"), field=field)
    if result != result.quantize(CENT):
        raise ValidationFailed(_("金额最多保留两位小数（到分）"), field=field)
    return result.quantize(CENT)


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed(_("日期格式应为 2026-11-21"), field=field) from exc


def money(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _reads_money(actor: Any, entity: str) -> bool:
    return field_level(actor, entity, "amount") in (FieldAccess.READONLY, FieldAccess.EDITABLE)


def _text(data: dict[str, Any], key: str, limit: int, label: str) -> str:
    value = str(data.get(key) or "").strip()
    if "\x00" in value:
        raise ValidationFailed(_("不能包含空字符（NUL）"), field=key)
    if len(value) > limit:
        raise ValidationFailed(
            _("%(label)s不能超过 %(n)d 个字符") % {"label": label, "n": limit}, field=key
        )
    return value


def _today() -> dt.date:
    return timezone.localdate()


# ----------------------------------------------------------------- numbers


def _number_clean(value: Any) -> str:
    number = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not number:
        return ""
    if len(number) > 50:
        raise ValidationFailed(_("合同编号不能超过 50 个字符"), field="number")
    if not NUMBER_RE.match(number):
        raise ValidationFailed(
            _("合同编号只能包含字母、数字和 - _ / . ( )，例如 HT-2026-0001"), field="number"
        )
    return number


def _number_taken(number: str, exclude_pk: int | None = None) -> bool:
    qs = Contract.all_objects.filter(number__iexact=number)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _number_taken_error(number: str) -> ValidationFailed:
    return ValidationFailed(
        _("合同编号「%s」已被使用（也可能是回收站里的合同），请换一个，或留空自动编号") % number,
        field="number",
    )


def contract_number_next(*, today: dt.date | None = None) -> str:
    """The next automatic number, e.g. HT-2026-0001 (prefix and width from the settings).

    One UPDATE … SET value = value + 1 inside the caller's transaction: the row stays
    locked until the contract is saved, so concurrent creations queue instead of sharing
    a number, and a failed creation rolls its number back (no gaps). Numbers typed by hand
    are skipped.
    """
    settings = config.contract_settings()
    prefix = str(settings.get("number_prefix") or "HT")
    digits = min(max(int(settings.get("number_digits") or 4), 1), 8)
    year = (today or _today()).year
    key = f"{prefix}-{year}"
    for _attempt in range(10_000):
        if not ContractNumberCounter.objects.filter(key=key).update(value=F("value") + 1):
            try:
                with transaction.atomic():
                    ContractNumberCounter.objects.create(key=key, value=1)
            except IntegrityError:
                continue  # created by a concurrent transaction: increment that row
        value = ContractNumberCounter.objects.values_list("value", flat=True).get(key=key)
        number = f"{key}-{value:0{digits}d}"
        if not _number_taken(number):
            return number
    raise Conflict(_("无法生成合同编号，请手工填写"))


# ----------------------------------------------------------------- contracts


def _owner_check(actor: Any, owner: Any) -> Any:
    if owner is None:
        return actor
    if not getattr(owner, "is_active", False):
        raise ValidationFailed(_("请选择在职的负责人"), field="owner")
    if owner.pk != actor.pk and not is_admin(actor) and owner.pk not in report_ids(actor):
        raise PermissionDenied(_("只能把合同交给自己或下属负责"), field="owner")
    return owner


def _clean(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The contract's values after applying `data` to `current`, validated as a whole."""
    values = dict(current)
    if "number" in data:
        values["number"] = _number_clean(data["number"])
    if "name" in data:
        values["name"] = _text(data, "name", 200, _("合同名称"))
    if "amount" in data:
        values["amount"] = amount_parse(data["amount"])
    if "currency" in data:
        currency = str(data.get("currency") or "CNY").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValidationFailed(_("币种应为三个字母，例如 CNY"), field="currency")
        values["currency"] = currency
    for key in ("signed_on", "start_date", "end_date"):
        if key in data:
            values[key] = _date(data[key], key)
    if "terms" in data:
        values["terms"] = _text(data, "terms", 10000, _("主要条款"))
    if "notes" in data:
        values["notes"] = _text(data, "notes", 5000, _("备注"))
    if not values.get("name"):
        raise ValidationFailed(_("请填写合同名称"), field="name")
    if values.get("amount") in (None, ""):
        raise ValidationFailed(_("请填写合同金额"), field="amount")
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        raise ValidationFailed(_("结束日期不能早于开始日期"), field="end_date")
    signed = values.get("signed_on")
    if signed and signed > _today() + dt.timedelta(days=366):
        raise ValidationFailed(_("签约日期不能是一年以后"), field="signed_on")
    return values


def _field_label(name: str) -> str:
    from crm.access.registry import entity_get

    spec = entity_get("contract").field(name)
    return (
        str(spec.label)
        if spec
        else str(getattr(Contract._meta.get_field(name), "verbose_name", name))
    )


def _audit_safe(values: dict[str, Any]) -> dict[str, Any]:
    """The amount goes to the audit log encrypted, like its column: never clear at rest."""
    out = dict(values)
    for key, value in values.items():
        if key == "amount" and value not in (None, ""):
            out[key] = encrypt_text(str(value))
        elif hasattr(value, "pk"):
            out[key] = value.pk
    return out


def _audit_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    plain = diff(
        {k: (v.pk if hasattr(v, "pk") else v) for k, v in before.items()},
        {k: (v.pk if hasattr(v, "pk") else v) for k, v in after.items()},
    )
    if "amount" in plain:
        plain["amount"] = [
            encrypt_text(str(before.get("amount") or "")),
            encrypt_text(str(after.get("amount") or "")),
        ]
    return plain


@transaction.atomic
def contract_create(
    *,
    actor: Any,
    customer: Customer,
    data: dict[str, Any],
    opportunity: Any = None,
    quote: Any = None,
    owner: Any = None,
) -> Contract:
    """A draft contract. `data`: number (blank → automatic), name, amount (Decimal or text),
    currency, signed_on, start_date, end_date, terms, notes."""
    require(actor, "create", Contract)
    require(actor, "view", customer)
    if opportunity is not None:
        require(actor, "view", opportunity)
        if opportunity.customer_id != customer.pk:
            raise ValidationFailed(_("商机不属于该客户"), field="opportunity")
    if quote is not None:
        require(actor, "view", quote)
        if quote.customer_id != customer.pk:
            raise ValidationFailed(_("报价单不属于该客户"), field="quote")
    sent = [k for k in data if k in CONTRACT_FIELDS and data[k] not in (None, "")]
    require_writable(actor, "contract", sent)
    owner = _owner_check(actor, owner)
    values = _clean(data, {"currency": "CNY", "number": ""})
    number = values.pop("number") or ""
    if number and _number_taken(number):
        raise _number_taken_error(number)
    contract = Contract(
        customer=customer,
        opportunity=opportunity,
        quote=quote,
        owner=owner,
        created_by=actor,
        status=ContractStatus.DRAFT,
        **{k: v for k, v in values.items() if k != "amount"},
        amount=str(values["amount"]),
    )
    contract.number = number or contract_number_next()
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:  # a typed number taken at the same moment
        raise _number_taken_error(contract.number) from exc
    source = ""
    if quote is not None:
        source = _("（来自报价单 %s）") % quote.number
    elif opportunity is not None:
        source = _("（来自商机「%s」）") % opportunity.name
    events.contract_created(contract, actor, source)
    audit_record(
        action="create",
        actor=actor,
        obj=contract,
        changes=_audit_safe(
            {
                **values,
                "number": contract.number,
                "customer": customer.pk,
                "owner": owner.pk,
                "opportunity": opportunity.pk if opportunity else None,
                "quote": quote.pk if quote else None,
            }
        ),
    )
    search_index(contract)
    return contract


def _money_prefill_allowed(actor: Any, entity: str) -> bool:
    """Copy an amount only when the actor may read it where it comes from."""
    try:
        return field_level(actor, entity, "amount") in (FieldAccess.READONLY, FieldAccess.EDITABLE)
    except KeyError:
        return True


def contract_prefill_from_opportunity(actor: Any, opportunity: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": opportunity.name, "currency": opportunity.currency or "CNY"}
    if _money_prefill_allowed(actor, "opportunity") and opportunity.amount:
        out["amount"] = opportunity.amount
    return out


def contract_prefill_from_quote(actor: Any, quote: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": quote.title, "currency": quote.currency or "CNY"}
    if _money_prefill_allowed(actor, "quote") and quote.total:
        out["amount"] = quote.total
    if quote.terms:
        out["terms"] = quote.terms
    return out


def contract_from_opportunity_check(actor: Any, opportunity: Any) -> None:
    from crm.opportunities.models import OpportunityStatus

    require(actor, "view", opportunity)
    if opportunity.status != OpportunityStatus.WON:
        raise ValidationFailed(
            _("只有赢单的商机才能生成合同（「%(name)s」当前：%(status)s）")
            % {"name": opportunity.name, "status": opportunity.get_status_display()},
            field="opportunity",
        )


@transaction.atomic
def contract_from_opportunity(
    *, actor: Any, opportunity: Any, data: dict[str, Any] | None = None, owner: Any = None
) -> Contract:
    """A contract for a won opportunity: customer, name, amount and currency come from it
    (anything in `data` overrides them)."""
    contract_from_opportunity_check(actor, opportunity)
    values = {**contract_prefill_from_opportunity(actor, opportunity), **(data or {})}
    return contract_create(
        actor=actor,
        customer=opportunity.customer,
        data=values,
        opportunity=opportunity,
        owner=owner,
    )


QUOTE_STATUSES = ("accepted", "sent")


def contract_from_quote_check(actor: Any, quote: Any) -> None:
    require(actor, "view", quote)
    if quote.status not in QUOTE_STATUSES:
        raise ValidationFailed(
            _("只有已发送或客户已接受的报价单才能生成合同（%(number)s 当前：%(status)s）")
            % {"number": quote.number, "status": quote.get_status_display()},
            field="quote",
        )
    if Contract.objects.filter(quote_id=quote.pk).exclude(status=ContractStatus.CANCELLED).exists():
        raise Conflict(
            _("报价单 %s 已经生成过合同；如需重签，请先作废原合同") % quote.number,
            field="quote",
        )


@transaction.atomic
def contract_from_quote(
    *, actor: Any, quote: Any, data: dict[str, Any] | None = None, owner: Any = None
) -> Contract:
    """A contract for a sent or accepted quote: amount = the quote's total, name = its
    title, customer and opportunity from it."""
    contract_from_quote_check(actor, quote)
    values = {**contract_prefill_from_quote(actor, quote), **(data or {})}
    return contract_create(
        actor=actor,
        customer=quote.customer,
        data=values,
        opportunity=quote.opportunity,
        quote=quote,
        owner=owner,
    )


def _plan_total(contract: Contract) -> Decimal:
    total = PaymentPlan.objects.filter(contract_id=contract.pk).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


def _received_total(contract_id: int) -> Decimal:
    total = Payment.objects.filter(contract_id=contract_id).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


@transaction.atomic
def contract_update(
    *, actor: Any, contract: Contract, expected_version: int | None, data: dict[str, Any]
) -> Contract:
    """Change the fields in `data` (customer and owner as records). What may change depends
    on the status (policies.EDITABLE_FIELDS); a read-only or masked field cannot be changed."""
    require(actor, "edit", contract)
    before = {f: getattr(contract, f) for f in CONTRACT_FIELDS}
    before["amount"] = contract.amount_value
    current = dict(before)
    values = _clean({k: v for k, v in data.items() if k not in ("customer", "owner")}, current)
    if "customer" in data and data["customer"] is not None:
        customer = data["customer"]
        if customer.pk != contract.customer_id:
            require(actor, "view", customer)
        values["customer"] = customer
    if "owner" in data and data["owner"] is not None:
        values["owner"] = _owner_check(actor, data["owner"])
    if not values.get("number"):
        values["number"] = contract.number  # blank keeps the number
    changed = [
        f
        for f in CONTRACT_FIELDS
        if (values[f].pk if hasattr(values[f], "pk") else values[f])
        != (before[f].pk if hasattr(before[f], "pk") else before[f])
    ]
    if not changed:
        return contract
    require_writable(actor, "contract", changed)
    allowed = policies.contract_editable_fields(contract)
    for name in changed:
        if name not in allowed:
            hint = (
                _("如需修改，请先退回草稿")
                if contract.status == ContractStatus.PENDING_APPROVAL
                else _("生效后的关键条款请另签补充协议")
            )
            raise ValidationFailed(
                _("合同当前为「%(status)s」，不能修改「%(field)s」；%(hint)s")
                % {
                    "status": contract.get_status_display(),
                    "field": _field_label(name),
                    "hint": hint,
                },
                field=name,
            )
    if "number" in changed and _number_taken(values["number"], contract.pk):
        raise _number_taken_error(values["number"])
    if "customer" in changed and contract.opportunity_id:
        raise ValidationFailed(_("合同来自商机，客户随商机确定，不能更换"), field="customer")
    if "amount" in changed:
        new_amount: Decimal = values["amount"]
        planned = _plan_total(contract)
        if planned > new_amount:
            raise ValidationFailed(
                _("回款计划合计 %(plan)s 超过新的合同金额，请先调整回款计划")
                % {"plan": money(planned)},
                field="amount",
            )
        received = _received_total(contract.pk)
        if received > new_amount:
            raise ValidationFailed(
                _("已回款 %(r)s，合同金额不能小于已回款") % {"r": money(received)},
                field="amount",
            )
    for name in changed:
        value = values[name]
        setattr(contract, name, str(value) if name == "amount" else value)
    try:
        with transaction.atomic():
            save_with_version(contract, expected_version=expected_version, fields=changed)
    except IntegrityError as exc:
        raise _number_taken_error(values["number"]) from exc
    audit_record(
        action="update",
        actor=actor,
        obj=contract,
        changes=_audit_diff(before, {f: values[f] for f in CONTRACT_FIELDS}),
    )
    if {"number", "name", "customer"} & set(changed):
        search_index(contract)
    return contract


@transaction.atomic
def contract_delete(*, actor: Any, contract: Contract) -> Contract:
    """To the recycle bin. A contract with payments is cancelled, not deleted."""
    require(actor, "delete", contract)
    if Payment.objects.filter(contract_id=contract.pk).exists():
        raise ValidationFailed(
            _("合同已有回款记录，不能删除；如合同不再执行，请作废"), field="contract"
        )
    record_delete(actor=actor, obj=contract)
    search_remove("contract", contract.pk)
    events.contract_deleted(contract, actor)
    return contract


def contract_after_restore(contract: Any, actor: Any) -> None:
    """Recycle-bin hook: the restored contract is searchable again."""
    search_index(contract)


# ----------------------------------------------------------------- status


@transaction.atomic
def contract_transition(
    *,
    actor: Any,
    contract: Contract,
    action: str,
    expected_version: int | None = None,
    reason: str = "",
    by_approval: bool = False,
) -> Contract:
    """Move the contract along the transition table (crm.contracts.policies.TRANSITIONS)."""
    t = policies.transition_get(action)
    if t is None:
        raise ValidationFailed(_("未知的合同操作"), field="action")
    require(actor, "view", contract)
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise ValidationFailed(_("说明不能超过 300 个字符"), field="reason")
    if contract.status not in t.sources:
        raise ValidationFailed(
            _("合同当前为「%(status)s」，不能%(action)s")
            % {"status": contract.get_status_display(), "action": t.label},
            field="status",
        )
    if not policies.contract_can_transition(actor, contract, action, by_approval=by_approval):
        if action == "activate":
            raise PermissionDenied(_("只有负责人的上级或系统管理员可以审批合同"))
        raise PermissionDenied()
    if t.reason_required and not reason:
        raise ValidationFailed(_("请填写%(action)s的原因") % {"action": t.label}, field="reason")
    if action == "submit":
        _submit_check(contract)
    before = contract.status
    contract.status = t.target
    contract.status_reason = reason
    save_with_version(
        contract, expected_version=expected_version, fields=["status", "status_reason"]
    )
    events.contract_status_changed(contract, actor, before, t.target, reason)
    audit_record(
        action="update",
        actor=actor,
        obj=contract,
        changes={
            "status": [before, t.target],
            **({"reason": reason} if reason else {}),
            **({"by_approval": True} if by_approval else {}),
        },
    )
    return contract


def _submit_check(contract: Contract) -> None:
    """What a contract needs before anyone is asked to approve it."""
    if not contract.signed_on:
        raise ValidationFailed(_("提交审批前请填写签约日期"), field="signed_on")
    if contract.amount_value <= 0:
        raise ValidationFailed(_("提交审批前请填写合同金额"), field="amount")


def contract_submit(
    *, actor: Any, contract: Contract, expected_version: int | None = None
) -> Contract:
    """draft → pending_approval."""
    return contract_transition(
        actor=actor, contract=contract, action="submit", expected_version=expected_version
    )


def contract_withdraw(
    *, actor: Any, contract: Contract, expected_version: int | None = None, reason: str = ""
) -> Contract:
    """pending_approval → draft (the owner takes it back, or an approver sends it back)."""
    return contract_transition(
        actor=actor,
        contract=contract,
        action="withdraw",
        expected_version=expected_version,
        reason=reason,
    )


def contract_activate(
    *,
    actor: Any,
    contract: Contract,
    expected_version: int | None = None,
    by_approval: bool = False,
) -> Contract:
    """pending_approval → active. The approvals flow calls this with by_approval=True."""
    return contract_transition(
        actor=actor,
        contract=contract,
        action="activate",
        expected_version=expected_version,
        by_approval=by_approval,
    )


def contract_close(
    *, actor: Any, contract: Contract, expected_version: int | None = None, reason: str = ""
) -> Contract:
    """active → closed (fulfilled or expired; an unpaid balance stays receivable)."""
    return contract_transition(
        actor=actor,
        contract=contract,
        action="close",
        expected_version=expected_version,
        reason=reason,
    )


def contract_cancel(
    *, actor: Any, contract: Contract, expected_version: int | None = None, reason: str = ""
) -> Contract:
    """draft / pending_approval / active → cancelled, with a reason."""
    return contract_transition(
        actor=actor,
        contract=contract,
        action="cancel",
        expected_version=expected_version,
        reason=reason,
    )


# ----------------------------------------------------------------- payment plans


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan_generate(
    *, total: Decimal, count: int, first_due: dt.date, months_between: int = 1
) -> list[dict[str, Any]]:
    """`count` equal instalments of `total` (the last one takes the rounding remainder),
    due every `months_between` months from `first_due` (the 31st becomes the month's end)."""
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ValidationFailed(_("期数应在 1 到 %d 之间") % MAX_INSTALMENTS, field="count")
    if not 0 <= months_between <= 24:
        raise ValidationFailed(_("间隔月数应在 0 到 24 之间"), field="months_between")
    if total <= 0:
        raise ValidationFailed(_("合同金额为 0，无法生成回款计划"), field="amount")
    share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    rows = []
    for i in range(count):
        amount = share if i < count - 1 else total - share * (count - 1)
        rows.append(
            {
                "due_date": _add_months(first_due, i * months_between),
                "amount": amount,
                "notes": "",
            }
        )
    return rows


def _linked_received(contract_id: int) -> dict[int, Decimal]:
    """Payments recorded against each instalment (without the unassigned ones)."""
    rows = (
        Payment.objects.filter(contract_id=contract_id, plan__isnull=False)
        .values("plan_id")
        .annotate(s=Sum("amount"))
    )
    return {r["plan_id"]: r["s"] or Decimal(0) for r in rows}


def _contract_allocate(contract_id: int) -> None:
    """Recompute what each instalment has received: first the payments recorded against
    it (up to its amount), then the unassigned payments and any excess, earliest due first."""
    plans = list(PaymentPlan.objects.filter(contract_id=contract_id).order_by("due_date", "seq"))
    if not plans:
        return
    linked: dict[int, Decimal] = defaultdict(Decimal)
    pool = Decimal(0)
    for plan_id, amount in Payment.objects.filter(contract_id=contract_id).values_list(
        "plan_id", "amount"
    ):
        if plan_id:
            linked[plan_id] += amount
        else:
            pool += amount
    received: dict[int, Decimal] = {}
    for plan in plans:
        own = min(linked.get(plan.pk, Decimal(0)), plan.amount)
        pool += linked.get(plan.pk, Decimal(0)) - own
        received[plan.pk] = own
    for plan in plans:
        take = min(pool, plan.amount - received[plan.pk])
        if take > 0:
            received[plan.pk] += take
            pool -= take
    changed = []
    for plan in plans:
        if plan.received != received[plan.pk]:
            plan.received = received[plan.pk]
            changed.append(plan)
    if changed:
        PaymentPlan.objects.bulk_update(changed, ["received"])


def _lock(contract: Contract) -> Contract:
    """Serialise money writes of one contract (plan edits, payments) on PostgreSQL."""
    return Contract.objects.select_for_update().get(pk=contract.pk)


def _plan_rows(instalments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(instalments):
        prefix = f"instalments.{i}"
        try:
            due = _date(item.get("due_date"), "due_date")
            amount = amount_parse(item.get("amount"), "amount")
            notes = _text(item, "notes", 200, _("备注"))
        except ValidationFailed as exc:
            raise ValidationFailed(
                _("第 %(n)d 期：%(msg)s") % {"n": i + 1, "msg": exc.message},
                field=f"{prefix}.{exc.field}",
            ) from exc
        if due is None:
            raise ValidationFailed(
                _("第 %d 期：请填写计划回款日期") % (i + 1), field=f"{prefix}.due_date"
            )
        rows.append({"due_date": due, "amount": amount, "notes": notes})
    return rows


@transaction.atomic
def contract_plan_set(
    *,
    actor: Any,
    contract: Contract,
    expected_version: int | None,
    instalments: list[dict[str, Any]],
) -> list[PaymentPlan]:
    """Replace the payment plan: instalment i (1-based) keeps its record and payments;
    the sum may not exceed the contract amount; an instalment with payments can neither
    be removed nor set below what it has received."""
    require(actor, "edit", contract)
    if not policies.contract_can_edit_plan(actor, contract):
        raise ValidationFailed(
            _("合同当前为「%s」，不能修改回款计划") % contract.get_status_display(),
            field="instalments",
        )
    if len(instalments) > MAX_INSTALMENTS:
        raise ValidationFailed(_("回款计划最多 %d 期") % MAX_INSTALMENTS, field="instalments")
    rows = _plan_rows(instalments)
    caller = contract
    contract = _lock(contract)
    amount = contract.amount_value
    total = sum((r["amount"] for r in rows), Decimal(0))
    if total > amount:
        shown = _reads_money(actor, "contract")
        raise ValidationFailed(
            _("回款计划合计 %(plan)s 超过合同金额 %(amount)s，请调整各期金额")
            % {"plan": money(total), "amount": money(amount)}
            if shown
            else _("回款计划合计超过合同金额，请调整各期金额"),
            field="instalments",
        )
    existing = {p.seq: p for p in PaymentPlan.objects.filter(contract_id=contract.pk)}
    linked = _linked_received(contract.pk)
    before = [
        {"seq": p.seq, "due_date": p.due_date, "amount": p.amount, "notes": p.notes}
        for p in sorted(existing.values(), key=lambda p: p.seq)
    ]
    for seq, plan in existing.items():
        got = linked.get(plan.pk, Decimal(0))
        if seq > len(rows) and got:
            raise ValidationFailed(
                _("第 %d 期已有回款记录，不能删除；可以修改它的日期和金额") % seq,
                field="instalments",
            )
        if seq <= len(rows) and rows[seq - 1]["amount"] < got:
            raise ValidationFailed(
                _("第 %(n)d 期已回款 %(r)s，计划金额不能小于已回款") % {"n": seq, "r": money(got)},
                field=f"instalments.{seq - 1}.amount",
            )
    # Bump the contract's version first: a stale plan edit is refused before any change.
    save_with_version(
        contract,
        expected_version=caller.version if expected_version is None else expected_version,
        fields=[],
    )
    caller.version = contract.version
    PaymentPlan.objects.filter(contract_id=contract.pk, seq__gt=len(rows)).delete()
    for i, row in enumerate(rows, start=1):
        kept = existing.get(i)
        if kept is None:
            PaymentPlan.objects.create(contract=contract, seq=i, **row)
        elif (kept.due_date, kept.amount, kept.notes) != (
            row["due_date"],
            row["amount"],
            row["notes"],
        ):
            PaymentPlan.objects.filter(pk=kept.pk).update(**row)
    _contract_allocate(contract.pk)
    after = [{"seq": i, **row} for i, row in enumerate(rows, start=1)]
    audit_record(action="update", actor=actor, obj=contract, changes={"plan": [before, after]})
    return list(PaymentPlan.objects.filter(contract_id=contract.pk).order_by("seq"))


@transaction.atomic
def contract_plan_generate(
    *,
    actor: Any,
    contract: Contract,
    expected_version: int | None,
    count: int,
    first_due: Any,
    months_between: int = 1,
    total: Any = None,
) -> list[PaymentPlan]:
    """Replace the plan with `count` equal instalments of `total` (default: the contract
    amount less what instalments already received stay; here simply the contract amount)."""
    require(actor, "edit", contract)
    first = _date(first_due, "first_due")
    if first is None:
        raise ValidationFailed(_("请填写第一期的回款日期"), field="first_due")
    amount = contract.amount_value if total in (None, "") else amount_parse(total, "total")
    rows = plan_generate(
        total=amount, count=int(count), first_due=first, months_between=int(months_between)
    )
    return contract_plan_set(
        actor=actor, contract=contract, expected_version=expected_version, instalments=rows
    )


# ----------------------------------------------------------------- payments

PAYMENT_FIELDS = ["amount", "received_on", "method", "reference", "notes"]
PAYMENT_METHODS = ["银行转账", "承兑汇票", "支票", "现金", "支付宝", "微信支付", "其他"]


@transaction.atomic
def payment_create(
    *,
    actor: Any,
    contract: Contract,
    data: dict[str, Any],
    plan: PaymentPlan | None = None,
) -> Payment:
    """Record money received (回款) against a contract in force, optionally one instalment.
    More than the contract's (or the instalment's) unpaid balance is refused."""
    require(actor, "view", contract)
    require(actor, "create", Payment)
    require_writable(actor, "payment", [k for k in PAYMENT_FIELDS if data.get(k) not in (None, "")])
    if contract.status not in policies.PAYABLE:
        raise ValidationFailed(
            _("合同当前为「%s」，只有执行中的合同可以登记回款") % contract.get_status_display(),
            field="contract",
        )
    amount = amount_parse(data.get("amount"), "amount")
    received_on = _date(data.get("received_on"), "received_on") or _today()
    if received_on > _today():
        raise ValidationFailed(_("回款日期不能晚于今天"), field="received_on")
    method = _text(data, "method", 30, _("回款方式"))
    reference = _text(data, "reference", 100, _("凭证号"))
    notes = _text(data, "notes", 300, _("备注"))
    contract = _lock(contract)
    shown = _reads_money(actor, "contract")
    outstanding = contract.amount_value - _received_total(contract.pk)
    if amount > outstanding:
        if outstanding <= 0:
            message = _("该合同已全部回款，不能再登记回款")
        elif shown:
            message = _("回款金额超出合同未收金额 %(left)s；多收的款项请先与财务核对") % {
                "left": money(outstanding)
            }
        else:
            message = _("回款金额超出合同未收金额；多收的款项请先与财务核对")
        raise ValidationFailed(message, field="amount")
    if plan is not None:
        if plan.contract_id != contract.pk:
            raise ValidationFailed(_("所选期次不属于该合同"), field="plan")
        left = plan.amount - _linked_received(contract.pk).get(plan.pk, Decimal(0))
        if amount > left:
            raise ValidationFailed(
                (
                    _(
                        "超出第 %(n)d 期未收金额 %(left)s；一笔款覆盖多期时，请不选期次（按到期先后自动冲抵）或分笔登记"
                    )
                    % {"n": plan.seq, "left": money(max(left, Decimal(0)))}
                    if shown
                    else _("超出第 %(n)d 期未收金额；一笔款覆盖多期时，请不选期次或分笔登记")
                    % {"n": plan.seq}
                ),
                field="amount",
            )
    payment = Payment.objects.create(
        contract=contract,
        plan=plan,
        amount=amount,
        received_on=received_on,
        method=method,
        reference=reference,
        notes=notes,
        recorded_by=actor,
    )
    _contract_allocate(contract.pk)
    events.payment_received(payment, contract, plan)
    audit_record(
        action="create",
        actor=actor,
        obj=payment,
        changes={
            "contract": contract.pk,
            "plan": plan.seq if plan else None,
            "amount": amount,
            "received_on": received_on,
            "method": method,
            "reference": reference,
        },
    )
    return payment


@transaction.atomic
def payment_delete(*, actor: Any, payment: Payment) -> Payment:
    """To the recycle bin (a wrong entry); the instalments' received amounts follow."""
    record_delete(actor=actor, obj=payment)
    _contract_allocate(payment.contract_id)
    events.payment_removed(payment, payment.contract, actor)
    return payment


def payment_after_restore(payment: Any, actor: Any) -> None:
    """Recycle-bin hook: a restored payment counts again."""
    _contract_allocate(payment.contract_id)


# ----------------------------------------------------------------- attachments

BLOCKED = "application/x-msdownload"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _attachment_type(name: str, data: bytes, declared: str) -> str:
    # The same sniffing as follow-up attachments: the content decides, a name can lie.
    from crm.activities.services import _content_type

    content_type = _content_type(name, data, declared)
    if content_type == "application/msword" and not data.startswith(OLE2):
        return "application/octet-stream"  # an old Word file starts with the OLE2 header
    return content_type


def _attachment_clean(upload: Any) -> tuple[str, bytes, str]:
    settings = config.contract_settings()
    limit_mb = int(settings.get("max_attachment_mb") or 20)
    limit = limit_mb * 1024 * 1024
    name = unicodedata.normalize("NFC", str(getattr(upload, "name", "") or "file"))
    name = re.sub(r"[\x00-\x1f/\\]", "_", name)[-200:]
    size = int(getattr(upload, "size", 0) or 0)
    if size > limit:
        raise ValidationFailed(
            _("附件「%(n)s」超过 %(m)d MB") % {"n": name, "m": limit_mb}, field="file"
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed(_("附件「%s」过大") % name, field="file")
    if not data:
        raise ValidationFailed(_("附件「%s」是空文件") % name, field="file")
    content_type = _attachment_type(name, data, str(getattr(upload, "content_type", "") or ""))
    if content_type not in (settings.get("allowed_types") or []):
        raise ValidationFailed(
            _("不支持的附件类型「%(n)s」（%(t)s）：请上传 PDF、图片或 Word/Excel 文件")
            % {"n": name, "t": content_type or "?"},
            field="file",
        )
    return name, data, content_type


@transaction.atomic
def attachment_add(*, actor: Any, contract: Contract, upload: Any) -> ContractAttachment:
    require(actor, "edit", contract)
    if not policies.contract_can_attach(actor, contract):
        raise ValidationFailed(
            _("合同当前为「%s」，不能再添加附件") % contract.get_status_display(), field="file"
        )
    if ContractAttachment.objects.filter(contract_id=contract.pk).count() >= 50:
        raise ValidationFailed(_("每份合同最多 50 个附件"), field="file")
    name, data, content_type = _attachment_clean(upload)
    att = ContractAttachment(
        contract=contract,
        name=name,
        content_type=content_type,
        size=len(data),
        uploaded_by=actor,
    )
    att.file.save(name, ContentFile(data), save=False)
    att.save()
    audit_record(
        action="update",
        actor=actor,
        obj=contract,
        changes={"attachment_added": {"name": name, "size": len(data), "type": content_type}},
    )
    return att


@transaction.atomic
def attachment_delete(*, actor: Any, attachment: ContractAttachment) -> None:
    """Only while the contract is a draft: once submitted, what was signed stays attached."""
    contract = attachment.contract
    require(actor, "edit", contract)
    if contract.status not in policies.ATTACHMENT_REMOVABLE:
        raise ValidationFailed(_("合同已提交，附件不能删除"), field="file")
    audit_record(
        action="update",
        actor=actor,
        obj=contract,
        changes={"attachment_removed": {"name": attachment.name, "size": attachment.size}},
    )
    stored = attachment.file
    ContractAttachment.objects.filter(pk=attachment.pk).delete()
    transaction.on_commit(lambda: stored.delete(save=False))


# ----------------------------------------------------------------- settings


@transaction.atomic
def contract_settings_update(
    *, actor: Any, data: dict[str, Any], expected_version: int | None = None
) -> dict[str, Any]:
    from crm.core.config import setting_set

    if not is_admin(actor):
        raise PermissionDenied()
    current = config.contract_settings()
    prefix = str(data.get("number_prefix", current["number_prefix"]) or "").strip()
    if not PREFIX_RE.match(prefix):
        raise ValidationFailed(
            _("编号前缀为 1–20 个字母、数字或 -，例如 HT"), field="number_prefix"
        )
    try:
        digits = int(data.get("number_digits", current["number_digits"]))
        max_mb = int(data.get("max_attachment_mb", current["max_attachment_mb"]))
        due_days = int(data.get("due_soon_days", current["due_soon_days"]))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("请填写整数")) from exc
    if not 3 <= digits <= 8:
        raise ValidationFailed(_("流水号位数应在 3 到 8 之间"), field="number_digits")
    if not 1 <= max_mb <= 100:
        raise ValidationFailed(_("附件大小上限应在 1 到 100 MB 之间"), field="max_attachment_mb")
    if not 1 <= due_days <= 365:
        raise ValidationFailed(_("天数应在 1 到 365 之间"), field="due_soon_days")
    value = {
        **current,
        "number_prefix": prefix,
        "number_digits": digits,
        "max_attachment_mb": max_mb,
        "due_soon_days": due_days,
    }
    result: dict[str, Any] = setting_set(
        actor=actor, key=config.CONTRACTS, value=value, expected_version=expected_version
    )
    return result
