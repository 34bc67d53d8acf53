"""`crm demo` step: opportunities in every stage for the demo reps' customers, with history.

Each opportunity is created and moved stage by stage through the services (with the fields
and checklist ticks each stage asks for), so the stage rules, the history, the customer
timeline, the search index and the audit trail are what real use produces. The history is
then spread over the last weeks (the services stamp "now"): some opportunities sit in their
stage longer than its time limit, so `crm rules run` has stalled deals to remind about.

Idempotent: an opportunity is identified by its customer and name; a second run adds none.
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

SEED = 20260501
# Demo users with opportunities (reps, and their managers for a few of their own).
OWNERS = ["zhang.wei", "wu.lei", "wang.fang", "zhou.jie", "gao.yang", "li.na", "huang.qiang"]
PER_OWNER = {"li.na": 3, "huang.qiang": 3}
DEFAULT_PER_OWNER = 10
PRODUCTS = [
    ("自动化装配线", (800_000, 2_600_000)),
    ("视觉检测设备", (180_000, 650_000)),
    ("工业机器人工作站", (350_000, 1_200_000)),
    ("智能仓储系统", (900_000, 3_200_000)),
    ("数控加工中心", (260_000, 980_000)),
    ("设备远程运维平台", (60_000, 240_000)),
]
COMPETITORS = ["德马泰克", "新松机器人", "埃斯顿", "大族激光", "海康机器人", "本地集成商"]
SOURCES = ["线索转化", "老客户推荐", "展会", "官网咨询", "电话营销", "合作伙伴"]
ROLES = ["决策人", "技术评估", "采购", "使用部门"]
LOST_REASONS = ["价格高于竞争对手", "客户预算取消", "选择了竞争对手", "项目延期到明年"]
NOTES = [
    "客户计划明年一季度投产，设备需在年底前到厂。",
    "技术评估已通过，采购在比价，需要突出售后响应速度。",
    "客户希望分两期付款，首付 30%。",
    "对接 MES 是关键需求，需安排软件工程师交流。",
    "",
]


def _short(name: str) -> str:
    for suffix in ("股份有限公司", "有限责任公司", "有限公司", "集团"):
        name = name.replace(suffix, "")
    return name[:10]


def _amount(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low // 1000, high // 1000) * 1000)


def _plan_stage(rng: random.Random, index: int, stages: list[Any]) -> Any:
    """Every stage gets opportunities: the first ones walk the stages in order, then at random
    with more weight on the early stages (a realistic funnel)."""
    if index < len(stages):
        return stages[index]
    weights = [6 if s.kind == "open" else 2 for s in stages]
    for i, s in enumerate(stages):
        if s.kind == "open":
            weights[i] = max(1, 7 - i)
    return rng.choices(stages, weights=weights)[0]


def _walk(
    *,
    owner: User,
    opp: Any,
    target: Any,
    stages: list[Any],
    contact: Any,
    rng: random.Random,
) -> list[Any]:
    """Move `opp` forward stage by stage up to `target` (lost: to some open stage, then lost),
    filling what each stage asks for. Returns the stages visited."""
    from crm.opportunities.services import opportunity_move

    open_stages = [s for s in stages if s.kind == "open"]
    won = next(s for s in stages if s.kind == "won")
    if target.kind == "lost":
        path = open_stages[1 : rng.randint(1, len(open_stages))]
    elif target.kind == "won":
        path = [*open_stages[1:], won]
    else:
        path = open_stages[1 : open_stages.index(target) + 1]
    visited = [opp.stage]
    for stage in path:
        data: dict[str, Any] = {}
        missing_contact = contact is not None and not opp.contact_roles.exists()
        if "contacts" in (stage.required_fields or []) and missing_contact:
            data["contacts"] = [(contact, rng.choice(ROLES))]
        current = opp.stage
        opportunity_move(
            actor=owner,
            opportunity=opp,
            stage=stage,
            expected_version=opp.version,
            data=data,
            checklist=list(range(len(current.checklist or []))),
        )
        visited.append(stage)
    if target.kind == "lost":
        opportunity_move(
            actor=owner,
            opportunity=opp,
            stage=target,
            expected_version=opp.version,
            lost_reason=rng.choice(LOST_REASONS),
        )
        visited.append(target)
    return visited


def _backdate(opp: Any, rng: random.Random, now: dt.datetime, stalled: bool) -> None:
    """Spread the stage history over the past weeks (the services stamped "now")."""
    from crm.opportunities.models import Opportunity, StageHistory

    rows = list(StageHistory.objects.filter(opportunity=opp).order_by("at", "id"))
    limit = opp.stage.time_limit_days or 10
    # Time in the current stage: past its limit for the stalled ones, within it otherwise.
    last_stay = rng.randint(limit + 2, limit + 20) if stalled else rng.randint(0, max(1, limit - 2))
    if opp.status != "open":
        last_stay = rng.randint(1, 25)
    moment = now - dt.timedelta(days=last_stay, hours=rng.randint(1, 8))
    times = [moment]
    for _row in rows[:-1]:
        moment = moment - dt.timedelta(days=rng.randint(3, 16), hours=rng.randint(0, 8))
        times.append(moment)
    times.reverse()
    for i, row in enumerate(rows):
        seconds = int((times[i] - times[i - 1]).total_seconds()) if i else 0
        StageHistory.objects.filter(pk=row.pk).update(at=times[i], seconds_in_from=seconds)
    updates: dict[str, Any] = {"stage_entered_at": times[-1], "created_at": times[0]}
    if opp.closed_at is not None:
        updates["closed_at"] = times[-1]
    Opportunity.objects.filter(pk=opp.pk).update(**updates)


@transaction.atomic
def demo_opportunities(users: dict[str, User]) -> str:
    from crm.customers.models import Contact, Customer
    from crm.opportunities.models import Opportunity, Pipeline
    from crm.opportunities.services import opportunity_create, pipeline_stages, pipelines_ensure

    now = timezone.now()
    pipelines_ensure()
    new_pipeline = Pipeline.objects.filter(name="新客户").first()
    renewal = Pipeline.objects.filter(name="续约").first()
    if new_pipeline is None:
        return "opportunities: no 新客户 pipeline, skipped"
    stages = pipeline_stages(new_pipeline)
    renewal_stages = pipeline_stages(renewal) if renewal else []
    existing = set(Opportunity.all_objects.values_list("customer_id", "name"))
    created = skipped = 0
    for username in OWNERS:
        owner = users.get(username)
        if owner is None or not owner.is_active:
            continue
        customers = list(
            Customer.objects.filter(owner=owner, contacts__isnull=False)
            .exclude(status="lost")
            .distinct()
            .order_by("pk")[:40]
        )
        if not customers:
            continue
        random.Random(f"{SEED}:{username}").shuffle(customers)  # noqa: S311
        count = min(PER_OWNER.get(username, DEFAULT_PER_OWNER), len(customers))
        for i in range(count):
            # One generator per opportunity: a second run that skips some draws the same.
            rng = random.Random(f"{SEED}:{username}:{i}")  # noqa: S311
            customer = customers[i]
            renew = bool(renewal_stages) and i == count - 1 and username not in PER_OWNER
            pipeline, plan = (renewal, renewal_stages) if renew else (new_pipeline, stages)
            target = _plan_stage(rng, i if not renew else rng.randrange(len(plan)), plan)
            # (demo data: repeatable, not secret — every generator here is seeded)
            product, (low, high) = rng.choice(PRODUCTS)
            name = f"{_short(customer.name)}{'续约' if renew else ''}{product}项目"
            if (customer.pk, name) in existing:
                skipped += 1
                continue
            contact = (
                Contact.objects.filter(customer=customer).order_by("-is_primary", "pk").first()
            )
            close = now.date() + dt.timedelta(days=rng.randint(10, 150))
            opp = opportunity_create(
                actor=owner,
                customer=customer,
                data={
                    "name": name,
                    "amount": _amount(rng, low, high),
                    "expected_close_date": close,
                    "pipeline": pipeline,
                    "competitors": "、".join(rng.sample(COMPETITORS, rng.randint(0, 2))),
                    "source": rng.choice(SOURCES),
                    "notes": rng.choice(NOTES),
                    "forecast_category": rng.choice(["pipeline", "pipeline", "best", "commit"]),
                },
                contacts=[(contact, rng.choice(ROLES))] if contact and rng.random() < 0.5 else None,
            )
            _walk(owner=owner, opp=opp, target=target, stages=plan, contact=contact, rng=rng)
            opp.refresh_from_db()
            _backdate(opp, rng, now, stalled=opp.status == "open" and rng.random() < 0.3)
            existing.add((customer.pk, name))
            created += 1
    return f"demo opportunities: {created} created, {skipped} already there"


demo_step_register(40, "opportunities", demo_opportunities)
