"""`crm demo` step: an industrial-equipment catalogue, two price lists, and quotes with
2–3 revisions for demo opportunities.

Runs after the opportunities step (order 60). Everything goes through the services with the
owner as the actor, so numbers, revisions, the customer timeline, search and the audit trail
are what real use produces. Products and price lists are found by code / name (idempotent);
quotes are made only when there are none yet. Without demo opportunities (the opportunities
app not installed or its step not run) the quotes are made for customers instead.
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

SEED = 20260520
QUOTES_WANTED = 14

# (code, name, category, unit, list price, tax rate %, description)
PRODUCTS: list[tuple[str, str, str, str, str, str, str]] = [
    (
        "CNC-VMC850",
        "VMC850 立式加工中心",
        "数控机床",
        "台",
        "268000",
        "13",
        "三轴，行程 800×500×550 mm，主轴 8000 rpm，发那科 0i-MF 系统",
    ),
    (
        "CNC-CK6150",
        "CK6150 数控车床",
        "数控机床",
        "台",
        "128000",
        "13",
        "最大回转直径 500 mm，广数 980TDc 系统，液压卡盘",
    ),
    (
        "CNC-5AX650",
        "五轴联动加工中心 UMC-650",
        "数控机床",
        "台",
        "1280000",
        "13",
        "摇篮式五轴，海德汉 TNC640 系统，刀库 30 把",
    ),
    (
        "CNC-GM2040",
        "龙门加工中心 GM2040",
        "数控机床",
        "台",
        "860000",
        "13",
        "工作台 2000×4000 mm，西门子 828D 系统",
    ),
    (
        "ROB-IR20",
        "六轴工业机器人 IR-20",
        "工业机器人",
        "台",
        "186000",
        "13",
        "负载 20 kg，臂展 1810 mm，重复定位精度 ±0.05 mm",
    ),
    (
        "ROB-SC600",
        "SCARA 机器人 SC-600",
        "工业机器人",
        "台",
        "68000",
        "13",
        "臂长 600 mm，负载 6 kg，适用于装配与分拣",
    ),
    (
        "ROB-CB10",
        "协作机器人 CB-10",
        "工业机器人",
        "台",
        "98000",
        "13",
        "负载 10 kg，力矩传感安全停止，拖动示教",
    ),
    (
        "ROB-WS01",
        "机器人焊接工作站",
        "工业机器人",
        "套",
        "420000",
        "13",
        "双工位变位机，含焊接电源、清枪站与安全围栏",
    ),
    (
        "SEN-LDS30",
        "激光位移传感器 LDS-30",
        "传感器",
        "只",
        "4800",
        "13",
        "测量范围 30±5 mm，分辨率 1 μm",
    ),
    (
        "SEN-PE12",
        "光电传感器 PE-12",
        "传感器",
        "只",
        "360",
        "13",
        "漫反射型，检测距离 0–300 mm，M12 接头",
    ),
    (
        "SEN-PT100",
        "压力变送器 PT-100",
        "传感器",
        "只",
        "1200",
        "13",
        "量程 0–1.6 MPa，4–20 mA 输出",
    ),
    (
        "SEN-CAM5M",
        "工业相机 5MP",
        "传感器",
        "台",
        "12800",
        "13",
        "500 万像素，GigE 接口，含 16 mm 镜头",
    ),
    (
        "AUT-PLC1500",
        "PLC 控制器 S7-1500 兼容型",
        "自动化部件",
        "台",
        "8600",
        "13",
        "含 32 点数字量 I/O 与 PROFINET 通讯",
    ),
    (
        "AUT-SRV2K",
        "伺服电机及驱动器 2 kW",
        "自动化部件",
        "套",
        "5400",
        "13",
        "额定转矩 6.4 N·m，17 位绝对值编码器",
    ),
    ("AUT-VFD75", "变频器 7.5 kW", "自动化部件", "台", "3200", "13", "矢量控制，内置 EMC 滤波器"),
    ("SVC-INST", "安装调试服务", "服务", "次", "15000", "6", "含现场安装、精度调试与试切验收"),
    ("SVC-TRAIN", "操作与编程培训", "服务", "人天", "3000", "6", "现场或线上，每期最多 6 人"),
    (
        "SVC-MAINT",
        "年度维保服务",
        "服务",
        "年",
        "36000",
        "6",
        "每季度一次巡检，7×24 小时电话支持，48 小时到场",
    ),
]

STANDARD_LIST = "2026 标准价格表"
DEALER_LIST = "经销商价格表"
# Promotional prices in the standard list (else the list price applies).
PROMO = {"ROB-CB10": "92000", "SEN-CAM5M": "11800", "SVC-TRAIN": "2800"}
DEALER_RATE = Decimal("0.85")

NOTES_REV2 = [
    "客户采购部要求单价下调，主设备给予 5% 折扣",
    "按技术交流会结论调整配置和数量",
    "客户要求缩短交期，报价有效期延长",
]
NOTES_REV3 = [
    "增加安装调试服务和操作培训",
    "整单再让 2%，争取本月签约",
    "客户确认最终数量",
]


def _catalogue(admin: User) -> tuple[int, int]:
    from crm.quotes.models import PriceList, Product
    from crm.quotes.services import (
        pricelist_create,
        pricelist_item_set,
        product_create,
    )

    existing = set(Product.all_objects.values_list("code", flat=True))
    made = 0
    for code, name, category, unit, price, tax, description in PRODUCTS:
        if code in existing:
            continue
        product_create(
            actor=admin,
            data={
                "code": code,
                "name": name,
                "category": category,
                "unit": unit,
                "list_price": price,
                "tax_rate": tax,
                "description": description,
            },
        )
        made += 1
    lists = 0
    products = {p.code: p for p in Product.objects.filter(code__in=[p[0] for p in PRODUCTS])}
    standard = PriceList.objects.filter(name=STANDARD_LIST).first()
    if standard is None:
        standard = pricelist_create(
            actor=admin,
            data={
                "name": STANDARD_LIST,
                "currency": "CNY",
                "valid_from": dt.date(timezone.localdate().year, 1, 1),
                "is_default": True,
                "is_active": True,
            },
        )
        for code, price in PROMO.items():
            if code in products:
                pricelist_item_set(
                    actor=admin, price_list=standard, product=products[code], price=price
                )
        lists += 1
    dealer = PriceList.objects.filter(name=DEALER_LIST).first()
    if dealer is None:
        dealer = pricelist_create(
            actor=admin, data={"name": DEALER_LIST, "currency": "CNY", "is_active": True}
        )
        for code, product in products.items():
            if code.startswith("SVC-"):
                continue  # services are never discounted for dealers
            price = (product.list_price * DEALER_RATE).quantize(Decimal("100"))
            minimum = "2" if code.startswith(("ROB-", "CNC-")) else "10"
            pricelist_item_set(
                actor=admin,
                price_list=dealer,
                product=product,
                price=price,
                min_quantity=minimum,
            )
        lists += 1
    return made, lists


def _lines_for(
    rng: random.Random, products: dict[str, Any], amount: Decimal | None = None
) -> list[dict[str, Any]]:
    """A plausible equipment order: one or two machines and some sensors or parts. Given the
    opportunity's amount, the main machine's expected price is set so the lines add up to it
    (the price the rep expects to close at), keeping the opportunity and its products in step."""
    machines = [c for c in products if c.startswith(("CNC-", "ROB-"))]
    parts = [c for c in products if c.startswith(("SEN-", "AUT-"))]
    if amount:
        # The machines a deal of this size can pay for, at least one of them.
        fitting = [c for c in machines if products[c].list_price <= amount] or [
            min(machines, key=lambda c: products[c].list_price)
        ]
        main = rng.choice(fitting)
        extra = rng.sample(parts, rng.choice([0, 1, 2]))
        lines = [{"product": products[c], "quantity": str(rng.choice([4, 6, 10]))} for c in extra]
        rest = amount - sum(
            products[c].list_price * Decimal(x["quantity"])
            for c, x in zip(extra, lines, strict=True)
        )
        if rest <= 0:
            lines, rest = [], amount
        quantity = max(1, min(5, int(rest / products[main].list_price)))
        price = (rest / quantity).quantize(Decimal("0.01"))
        return [
            {"product": products[main], "quantity": str(quantity), "unit_price": str(price)},
            *lines,
        ]
    chosen = rng.sample(machines, rng.choice([1, 1, 2]))
    lines = [{"product": products[c], "quantity": str(rng.choice([1, 1, 2, 3]))} for c in chosen]
    for code in rng.sample(parts, rng.choice([0, 1, 2])):
        lines.append({"product": products[code], "quantity": str(rng.choice([4, 6, 10, 20]))})
    return lines


def _opportunities() -> list[Any]:
    try:
        from crm.opportunities.models import Opportunity
    except ImportError:  # pragma: no cover
        return []
    return list(
        Opportunity.objects.filter(owner__is_active=True)
        .select_related("customer", "owner", "stage")
        .order_by("-stage__order", "pk")[: QUOTES_WANTED * 2]
    )


def _backdate(quote: Any, days_ago: list[int]) -> None:
    """Spread the revisions (and their entries on the customer's timeline) over the past
    weeks: the services stamp everything now."""
    from crm.quotes.models import Quote, QuoteRevision
    from crm.timeline.models import TimelineEvent

    now = timezone.now()
    stamps: dict[int, dt.datetime] = {}
    revisions = list(QuoteRevision.objects.filter(quote=quote).order_by("number"))
    for revision, days in zip(revisions, days_ago, strict=False):
        at = now - dt.timedelta(days=days, hours=3)
        stamps[revision.number] = at
        QuoteRevision.objects.filter(pk=revision.pk).update(created_at=at)
    Quote.all_objects.filter(pk=quote.pk).update(created_at=stamps.get(1, now))
    events = TimelineEvent.objects.filter(ref_entity="quote", ref_id=str(quote.pk))
    for event in events:
        number = int((event.data or {}).get("revision") or 0)
        if number in stamps:
            TimelineEvent.objects.filter(pk=event.pk).update(at=stamps[number])


@transaction.atomic
def demo_quotes(users: dict[str, User]) -> str:
    from crm.customers.models import Customer
    from crm.quotes.models import OpportunityProduct, PriceList, Product, Quote, QuoteStatus
    from crm.quotes.services import (
        opportunity_product_add,
        quote_create,
        quote_from_opportunity,
        quote_revise,
        quote_set_status,
    )

    admin = users.get("admin")
    if admin is None:
        return "quotes: no admin user, skipped"
    made, lists = _catalogue(admin)
    if Quote.all_objects.exists():
        return f"demo quotes: already there, skipped ({made} products, {lists} price lists added)"
    rng = random.Random(SEED)  # noqa: S311  (demo data: repeatable, not secret)
    products = {p.code: p for p in Product.objects.filter(is_active=True)}
    dealer = PriceList.objects.filter(name=DEALER_LIST).first()
    today = timezone.localdate()

    opportunities = _opportunities()
    sources: list[tuple[Any, Any]] = []
    for opp in opportunities:
        if len(sources) >= QUOTES_WANTED:
            break
        if opp.customer.owner_id is None:
            continue
        sources.append((opp.customer, opp))
    without_opps = not sources
    if without_opps:
        customers = list(
            Customer.objects.filter(owner__isnull=False, owner__is_active=True)
            .select_related("owner")
            .order_by("pk")
        )
        sources = [(c, None) for c in rng.sample(customers, min(QUOTES_WANTED, len(customers)))]

    quotes = revisions = 0
    for n, (customer, opp) in enumerate(sources):
        owner = opp.owner if opp is not None else customer.owner
        header: dict[str, Any] = {"valid_until": today + dt.timedelta(days=rng.choice([15, 30]))}
        if n % 5 == 4 and dealer is not None:
            header["price_list"] = dealer
        contact = customer.contacts.order_by("-is_primary", "pk").first()
        if contact is not None:
            header["contact"] = contact
        if opp is not None:
            if not OpportunityProduct.objects.filter(opportunity=opp).exists():
                for line in _lines_for(rng, products, opp.amount or None):
                    opportunity_product_add(
                        actor=owner,
                        opportunity=opp,
                        product=line["product"],
                        quantity=line["quantity"],
                        unit_price=line.get("unit_price"),
                        price_list=header.get("price_list"),
                    )
            quote = quote_from_opportunity(actor=owner, opportunity=opp, data=header)
        else:
            header["title"] = f"{customer.name} 设备采购报价"
            quote = quote_create(
                actor=owner, customer=customer, data=header, lines=_lines_for(rng, products)
            )
        quotes += 1
        count = rng.choice([2, 2, 3, 3, 1])
        if count >= 2:
            # Revision 2: the customer asked for a lower price on the main machine.
            lines = [
                {
                    "id": x.pk,
                    "product": x.product_id,
                    "quantity": x.quantity,
                    "unit_price": x.unit_price,
                    "discount_pct": "5" if i == 0 else x.discount_pct,
                    "tax_rate": x.tax_rate,
                    "name": x.name,
                    "unit": x.unit,
                }
                for i, x in enumerate(quote.lines.order_by("position"))
            ]
            quote = quote_revise(
                actor=owner,
                quote=quote,
                expected_version=quote.version,
                data={"valid_until": today + dt.timedelta(days=rng.choice([20, 30, 45, 60]))},
                lines=lines,
                note=rng.choice(NOTES_REV2),
            )
            revisions += 1
        if count >= 3:
            # Revision 3: installation added, a little more off the whole quote.
            lines = [
                {
                    "id": x.pk,
                    "product": x.product_id,
                    "quantity": x.quantity,
                    "unit_price": x.unit_price,
                    "discount_pct": x.discount_pct,
                    "tax_rate": x.tax_rate,
                    "name": x.name,
                    "unit": x.unit,
                }
                for x in quote.lines.order_by("position")
            ]
            if "SVC-INST" in products:
                lines.append({"product": products["SVC-INST"], "quantity": "1"})
            quote = quote_revise(
                actor=owner,
                quote=quote,
                expected_version=quote.version,
                data={"discount_pct": "2"},
                lines=lines,
                note=rng.choice(NOTES_REV3),
            )
            revisions += 1
        _backdate(quote, sorted([rng.randint(12, 30), rng.randint(5, 11), rng.randint(1, 4)])[::-1])
        # Statuses: most sent, some accepted (won deals) or rejected, a few still drafts.
        stage_kind = getattr(getattr(opp, "stage", None), "kind", "open") if opp else "open"
        target = rng.choice(["sent", "sent", "draft", "sent", "rejected"])
        if stage_kind == "won":
            target = "accepted"
        if target != "draft":
            quote = quote_set_status(actor=owner, quote=quote, status=QuoteStatus.SENT)
        if target in ("accepted", "rejected"):
            quote_set_status(actor=owner, quote=quote, status=target)
    where = "customers (no demo opportunities found)" if without_opps else "opportunities"
    return (
        f"demo quotes: {made} products, {lists} price lists, {quotes} quotes for {where} "
        f"with {revisions} extra revisions"
    )


demo_step_register(60, "quotes", demo_quotes)
