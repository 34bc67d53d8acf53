"""Contracts for tests, made through the services (as their owners would)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.contracts import services
from crm.contracts.models import Contract
from crm.customers.services import customer_create

_seq = itertools.count(1)


def customer_of(owner: Any, name: str = "", **data: Any) -> Any:
    n = next(_seq)
    return customer_create(
        actor=owner,
        data={"name": name or f"上海恒通机械设备{n}号有限公司", **data},
        contacts=[{"name": "王建国", "mobile": f"138{n:08d}", "title": "采购经理"}],
    )


def won_opportunity(owner: Any, customer: Any, amount: str = "1280000", name: str = "") -> Any:
    """An opportunity created straight in the won stage of the default pipeline."""
    from crm.opportunities.models import StageKind
    from crm.opportunities.services import opportunity_create, pipeline_default, pipeline_stages

    pipeline = pipeline_default()
    won = next(s for s in pipeline_stages(pipeline) if s.kind == StageKind.WON)
    contact = customer.contacts.first()
    return opportunity_create(
        actor=owner,
        customer=customer,
        data={
            "name": name or f"{customer.name} 自动化产线项目",
            "amount": Decimal(amount),
            "expected_close_date": timezone.localdate(),
            "pipeline": pipeline,
            "stage": won,
        },
        contacts=[(contact, "decision_maker")],
    )


def open_opportunity(owner: Any, customer: Any, amount: str = "500000") -> Any:
    from crm.opportunities.services import opportunity_create

    return opportunity_create(
        actor=owner, customer=customer, data={"name": "视觉检测设备采购", "amount": Decimal(amount)}
    )


def contract_of(owner: Any, customer: Any = None, amount: str = "1280000", **data: Any) -> Contract:
    customer = customer or customer_of(owner)
    return services.contract_create(
        actor=owner,
        customer=customer,
        data={
            "name": "自动化装配线采购合同",
            "amount": amount,
            "signed_on": timezone.localdate() - dt.timedelta(days=10),
            **data,
        },
    )


def active_contract(owner: Any, approver: Any, customer: Any = None, **kw: Any) -> Contract:
    contract = contract_of(owner, customer, **kw)
    services.contract_submit(actor=owner, contract=contract)
    services.contract_activate(actor=approver, contract=contract)
    contract.refresh_from_db()
    return contract
