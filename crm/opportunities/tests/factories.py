"""Helpers for opportunity tests: customers, contacts and opportunities made through services."""

from __future__ import annotations

from typing import Any

from crm.customers import services as customer_services
from crm.opportunities.models import Pipeline, Stage
from crm.opportunities.services import opportunity_create, pipeline_default


def customer(owner: Any, name: str = "上海宏达软件科技有限公司", **data: Any) -> Any:
    return customer_services.customer_create(actor=owner, data={"name": name, **data})


def contact(owner: Any, cust: Any, name: str = "王建国") -> Any:
    return customer_services.contact_create(actor=owner, customer=cust, data={"name": name})


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    pipeline = pipeline or pipeline_default()
    return Stage.objects.get(pipeline=pipeline, name=name)


def opportunity(owner: Any, cust: Any = None, name: str = "产线自动化改造", **data: Any) -> Any:
    cust = cust or customer(owner)
    contacts = data.pop("contacts", None)
    return opportunity_create(
        actor=owner, customer=cust, data={"name": name, **data}, contacts=contacts
    )
