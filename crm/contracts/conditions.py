"""Reminder conditions of payment plans: an instalment coming due, and one past due.

Run by the reminder engine (crm.reminders) as of a given time; each occurrence is notified
once. An amount appears in a reminder only when every recipient may read it in clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.reminders.registry import Condition, Occurrence, condition_register


def _open_instalments(today: dt.date) -> Any:
    from crm.contracts.models import PaymentPlan
    from crm.contracts.policies import RECEIVABLE

    return (
        PaymentPlan.objects.filter(
            received__lt=F("amount"),
            contract__deleted_at__isnull=True,
            contract__status__in=RECEIVABLE,
            contract__owner__is_active=True,
        )
        .select_related(
            "contract", "contract__customer", "contract__owner", "contract__owner__manager"
        )
        .order_by("due_date", "pk")
    )


def _finance_users() -> list[Any]:
    from crm.access.models import User

    return list(
        User.objects.filter(is_active=True, roles__code="finance").distinct().order_by("pk")
    )


def _reads_amounts(user: Any) -> bool:
    from crm.contracts.selectors import money_access

    return money_access(user).balance_clear


def _amount_note(plan: Any, users: list[Any]) -> str:
    if users and all(_reads_amounts(u) for u in users):
        return _("本期未收：¥%(left)s。") % {"left": f"{plan.outstanding:,.2f}"}
    return ""


def _where(plan: Any) -> dict[str, Any]:
    contract = plan.contract
    return {
        "number": contract.number,
        "customer": contract.customer.name,
        "seq": plan.seq,
        "due": plan.due_date.isoformat(),
    }


def payment_due(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """An instalment due within N days and not fully received → the contract's owner
    (and, with notify_finance, the finance users)."""
    today = timezone.localtime(now).date()
    ahead = int(params.get("days_ahead") or 7)
    finance = _finance_users() if params.get("notify_finance", True) else []
    qs = _open_instalments(today).filter(
        due_date__gte=today, due_date__lte=today + dt.timedelta(days=ahead)
    )
    for plan in qs.iterator(chunk_size=1000):
        contract = plan.contract
        owner = contract.owner
        extra = [u for u in finance if u.pk != owner.pk]
        days = (plan.due_date - today).days
        when = _("今天") if days == 0 else _("%d 天后") % days
        yield Occurrence(
            key=f"{plan.pk}:{plan.due_date.isoformat()}",
            users=[owner],
            title=_("合同 %(number)s（%(customer)s）第 %(seq)d 期回款 %(when)s到期")
            % {**_where(plan), "when": when},
            body=_("计划回款日期：%(due)s。") % _where(plan) + _amount_note(plan, [owner, *extra]),
            url=reverse("contract_detail", args=[contract.pk]),
            task={
                "title": _("催收合同 %(number)s 第 %(seq)d 期回款") % _where(plan),
                "customer_id": contract.customer_id,
            },
            extra_users=extra,
            extra_title=_("（负责人：%(owner)s）合同 %(number)s 第 %(seq)d 期回款 %(when)s到期")
            % {**_where(plan), "owner": owner.name, "when": when},
        )


def payment_overdue(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """An instalment past due and not fully received → the owner; after N more days
    overdue, also the owner's manager (a separate occurrence, notified once)."""
    today = timezone.localtime(now).date()
    grace = int(params.get("grace_days") or 0)
    escalate = params.get("manager_after_days")
    escalate_days = int(escalate) if escalate not in (None, "") else None
    qs = _open_instalments(today).filter(due_date__lt=today - dt.timedelta(days=grace))
    for plan in qs.iterator(chunk_size=1000):
        contract = plan.contract
        owner = contract.owner
        late = (today - plan.due_date).days
        where = {**_where(plan), "days": late}
        url = reverse("contract_detail", args=[contract.pk])
        yield Occurrence(
            key=f"{plan.pk}:{plan.due_date.isoformat()}:owner",
            users=[owner],
            title=_("合同 %(number)s（%(customer)s）第 %(seq)d 期回款已逾期") % where,
            body=_("计划回款日期：%(due)s，已逾期 %(days)d 天。") % where
            + _amount_note(plan, [owner]),
            url=url,
            task={
                "title": _("催收合同 %(number)s 第 %(seq)d 期逾期回款") % where,
                "customer_id": contract.customer_id,
            },
        )
        manager = owner.manager
        if (
            escalate_days is not None
            and late >= escalate_days
            and manager is not None
            and manager.is_active
        ):
            yield Occurrence(
                key=f"{plan.pk}:{plan.due_date.isoformat()}:manager",
                users=[manager],
                title=_(
                    "合同 %(number)s（%(customer)s）第 %(seq)d 期回款逾期 %(days)d 天（负责人：%(owner)s）"
                )
                % {**where, "owner": owner.name},
                body=_("计划回款日期：%(due)s。") % where + _amount_note(plan, [manager]),
                url=url,
            )


condition_register(
    Condition(
        "payment_due",
        gettext_lazy("回款即将到期"),
        "payment_due",
        {"days_ahead": 7, "notify_finance": True, "create_task": False},
        payment_due,
        gettext_lazy("回款计划的某一期在 N 天内到期且未收齐时，提醒合同负责人（可同时提醒财务）。"),
    )
)
condition_register(
    Condition(
        "payment_overdue",
        gettext_lazy("回款逾期"),
        "payment_overdue",
        {"grace_days": 0, "manager_after_days": 7, "create_task": False},
        payment_overdue,
        gettext_lazy(
            "回款计划的某一期过了计划日期仍未收齐时提醒合同负责人；逾期超过 N 天再提醒其上级。"
        ),
    )
)
