"""`crm demo` step: contracts for the demo's won opportunities, with payment plans, payments
received, a few overdue instalments, one awaiting approval and one still a draft.

Runs after the opportunities (40) and quotes (60) steps. A won opportunity whose quote was
accepted becomes a contract from that quote (amount = the quote's total), the others from
the opportunity. Everything goes through the services (numbers, timeline, audit, plan
allocation), as the owners and their managers would do it. Idempotent: an opportunity that
already has a contract is skipped. Without any won opportunity (no opportunities step), it
first wins one opportunity per sales rep through the opportunity service.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.access.models import User
from crm.demo import demo_step_register

SEED = 20261122
METHODS = ["银行转账", "银行转账", "银行转账", "承兑汇票", "支票"]
BANKS = ["ICBC", "CMB", "BOC", "CCB", "ABC"]
TERMS = (
    "付款方式：合同签订后支付 30% 预付款，设备到货验收后支付 60%，质保期满一年后支付 10% 质保金。\n"
    "交货期：预付款到账后 6 周内交货，含安装调试与操作培训。\n"
    "质保：整机质保一年，核心部件两年。"
)
# (share, days after signing)
PLAN = [(Decimal("0.30"), 0), (Decimal("0.60"), 45), (Decimal("0.10"), 365)]


def _won_opportunities(users: dict[str, User]) -> list[Any]:
    from crm.opportunities.models import Opportunity, OpportunityStatus

    won = list(
        Opportunity.objects.filter(status=OpportunityStatus.WON, owner__is_active=True)
        .select_related("customer", "owner", "owner__manager")
        .order_by("pk")
    )
    return won or _win_some(users)


def _win_some(users: dict[str, User]) -> list[Any]:
    """No won opportunities yet (the opportunities step did not run): win one per rep."""
    from crm.customers.models import Customer
    from crm.opportunities.models import StageKind
    from crm.opportunities.services import opportunity_create, pipeline_default, pipeline_stages

    pipeline = pipeline_default()
    won = next(s for s in pipeline_stages(pipeline) if s.kind == StageKind.WON)
    out: list[Any] = []
    for username in ("zhang.wei", "wu.lei", "wang.fang", "zhou.jie", "gao.yang"):
        owner = users.get(username)
        if owner is None:
            continue
        customer = (
            Customer.objects.filter(owner=owner, contacts__isnull=False)
            .distinct()
            .order_by("pk")
            .first()
        )
        if customer is None:
            continue
        contact = customer.contacts.order_by("-is_primary", "pk").first()
        out.append(
            opportunity_create(
                actor=owner,
                customer=customer,
                data={
                    "name": f"{customer.name[:8]}自动化产线项目",
                    "amount": Decimal(680000 + 40000 * len(out)),
                    "expected_close_date": timezone.localdate(),
                    "pipeline": pipeline,
                    "stage": won,
                },
                contacts=[(contact, "decision_maker")] if contact else None,
            )
        )
    return out


def _approver(owner: User, users: dict[str, User]) -> User:
    manager = owner.manager
    return manager if manager is not None and manager.is_active else users["admin"]


@transaction.atomic
def demo_contracts(users: dict[str, User]) -> str:
    from crm.contracts import services
    from crm.contracts.models import Contract
    from crm.quotes.models import Quote, QuoteStatus

    today = timezone.localdate()
    finance = users.get("liu.yang")
    opportunities = _won_opportunities(users)
    done = set(
        Contract.all_objects.filter(opportunity__isnull=False).values_list(
            "opportunity_id", flat=True
        )
    )
    made = paid = overdue = skipped = 0
    for i, opp in enumerate(opportunities):
        if opp.pk in done:
            skipped += 1
            continue
        rng = random.Random(f"{SEED}:{opp.pk}")  # noqa: S311  (demo data: repeatable, not secret)
        owner = opp.owner
        closed = timezone.localtime(opp.closed_at).date() if opp.closed_at else today
        # Signed a few days after the deal was won, some of them a few months ago.
        signed = min(today, closed + dt.timedelta(days=rng.randint(1, 6)))
        if i % 3 == 0:
            signed = today - dt.timedelta(days=rng.randint(60, 120))
        data = {
            "signed_on": signed,
            "start_date": signed,
            "end_date": signed + dt.timedelta(days=365),
            "terms": TERMS,
        }
        quote = (
            Quote.objects.filter(opportunity=opp, status=QuoteStatus.ACCEPTED)
            .order_by("-pk")
            .first()
        )
        if quote is not None and not Contract.objects.filter(quote=quote).exists():
            contract = services.contract_from_quote(actor=owner, quote=quote, data=data)
        else:
            contract = services.contract_from_opportunity(actor=owner, opportunity=opp, data=data)
        made += 1
        amount = contract.amount_value
        rows = []
        left = amount
        for n, (share, days) in enumerate(PLAN):
            part = left if n == len(PLAN) - 1 else (amount * share).quantize(Decimal("0.01"))
            left -= part
            rows.append(
                {"due_date": signed + dt.timedelta(days=days + rng.randint(0, 5)), "amount": part}
            )
        rows[0]["notes"] = "预付款"
        rows[1]["notes"] = "到货验收款"
        rows[2]["notes"] = "质保金"
        services.contract_plan_set(
            actor=owner, contract=contract, expected_version=None, instalments=rows
        )
        if i % 7 == 6:
            continue  # still a draft: the rep is preparing it
        services.contract_submit(actor=owner, contract=contract)
        if i % 7 == 5:
            continue  # waiting for the manager's approval
        services.contract_activate(actor=_approver(owner, users), contract=contract)
        plans = list(contract.plans.order_by("seq"))
        recorder = finance or owner
        for plan in plans:
            if plan.due_date > today:
                break
            # Every third customer pays late: its first open instalment is overdue.
            if i % 3 == 1:
                overdue += 1
                if rng.random() < 0.5:
                    # Part paid: the customer asked to pay the rest next month.
                    services.payment_create(
                        actor=recorder,
                        contract=contract,
                        plan=plan,
                        data={
                            "amount": (plan.amount / 2).quantize(Decimal("0.01")),
                            "received_on": min(today, plan.due_date + dt.timedelta(days=3)),
                            "method": "银行转账",
                            "reference": f"{rng.choice(BANKS)}{rng.randint(10**9, 10**10 - 1)}",
                            "notes": "客户申请分两次支付",
                        },
                    )
                break
            services.payment_create(
                actor=recorder,
                contract=contract,
                plan=plan,
                data={
                    "amount": plan.amount,
                    "received_on": min(today, plan.due_date + dt.timedelta(days=rng.randint(0, 6))),
                    "method": rng.choice(METHODS),
                    "reference": f"{rng.choice(BANKS)}{rng.randint(10**9, 10**10 - 1)}",
                },
            )
            paid += 1
    return (
        f"demo contracts: {made} created from won opportunities ({skipped} already there), "
        f"{paid} instalments paid, {overdue} overdue"
    )


demo_step_register(70, "contracts", demo_contracts)
