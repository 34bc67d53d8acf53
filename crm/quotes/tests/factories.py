"""Helpers for quote tests: products, price lists, customers and opportunities through the
services (so the permission layer, numbering and revisions are what real use produces)."""

from __future__ import annotations

from typing import Any

from crm.customers import services as customer_services
from crm.quotes import services


def product(admin: Any, code: str = "CNC-VMC850", price: str = "268000", **data: Any) -> Any:
    values = {
        "code": code,
        "name": data.pop("name", "VMC850 立式加工中心"),
        "category": "数控机床",
        "unit": "台",
        "list_price": price,
        "tax_rate": "13",
        **data,
    }
    return services.product_create(actor=admin, data=values)


def catalogue(admin: Any) -> dict[str, Any]:
    return {
        "cnc": product(admin, "CNC-VMC850", "268000", name="VMC850 立式加工中心"),
        "robot": product(
            admin, "ROB-IR20", "186000", name="六轴工业机器人 IR-20", category="工业机器人"
        ),
        "sensor": product(
            admin, "SEN-PE12", "360", name="光电传感器 PE-12", unit="只", category="传感器"
        ),
        "service": product(
            admin, "SVC-INST", "15000", name="安装调试服务", unit="次", tax_rate="6"
        ),
    }


def customer(owner: Any, name: str = "苏州恒通精密机械有限公司", **data: Any) -> Any:
    contacts = data.pop(
        "contacts", [{"name": "王建国", "title": "采购经理", "mobile": "13912345678"}]
    )
    return customer_services.customer_create(
        actor=owner, data={"name": name, **data}, contacts=contacts
    )


def opportunity(owner: Any, cust: Any, name: str = "二期产线自动化改造", **data: Any) -> Any:
    from crm.opportunities.services import opportunity_create

    return opportunity_create(actor=owner, customer=cust, data={"name": name, **data})


def quote(owner: Any, cust: Any, items: dict[str, Any], **data: Any) -> Any:
    lines = data.pop(
        "lines",
        [
            {"product": items["cnc"], "quantity": "2"},
            {"product": items["sensor"], "quantity": "10"},
        ],
    )
    return services.quote_create(actor=owner, customer=cust, data=data, lines=lines)


def current_lines(q: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": x.pk,
            "product": x.product_id,
            "name": x.name,
            "unit": x.unit,
            "quantity": x.quantity,
            "unit_price": x.unit_price,
            "discount_pct": x.discount_pct,
            "tax_rate": x.tax_rate,
        }
        for x in q.lines.order_by("position")
    ]
