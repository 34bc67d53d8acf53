"""`crm demo` step: a few hundred realistic B2B customers with contacts, tags and custom fields.

Every customer is registered through `customer_create` with its owner as the actor, so the
duplicate check, the timeline, the search index and the audit trail are exactly what a
user's own entries would produce. The data is generated from fixed seeds: a second run
produces the same names and skips every customer that already exists.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.access.models import User
from crm.core.errors import Conflict
from crm.demo import demo_step_register

SEED = 20260301
CUSTOMERS_PER_REGION = {"华东": 120, "华南": 100, "华北": 80}
POOL_COUNT = 12


@dataclass(frozen=True)
class Region:
    name: str
    owners: tuple[str, ...]  # demo usernames, managers own a few customers too
    # province -> [(city, area code, division code for the credit code)]
    places: dict[str, list[tuple[str, str, str]]]


REGIONS = [
    Region(
        "华东",
        ("zhang.wei", "wu.lei", "zhang.wei", "wu.lei", "li.na"),
        {
            "上海": [("上海", "021", "310000")],
            "江苏": [
                ("南京", "025", "320100"),
                ("苏州", "0512", "320500"),
                ("无锡", "0510", "320200"),
                ("常州", "0519", "320400"),
            ],
            "浙江": [
                ("杭州", "0571", "330100"),
                ("宁波", "0574", "330200"),
                ("温州", "0577", "330300"),
                ("嘉兴", "0573", "330400"),
            ],
            "安徽": [("合肥", "0551", "340100"), ("芜湖", "0553", "340200")],
            "山东": [("济南", "0531", "370100"), ("青岛", "0532", "370200")],
        },
    ),
    Region(
        "华南",
        ("wang.fang", "zhou.jie", "wang.fang", "zhou.jie", "huang.qiang"),
        {
            "广东": [
                ("广州", "020", "440100"),
                ("深圳", "0755", "440300"),
                ("佛山", "0757", "440600"),
                ("东莞", "0769", "441900"),
                ("珠海", "0756", "440400"),
            ],
            "福建": [("福州", "0591", "350100"), ("厦门", "0592", "350200")],
            "广西": [("南宁", "0771", "450100")],
            "海南": [("海口", "0898", "460100")],
        },
    ),
    Region(
        "华北",
        ("gao.yang", "gao.yang", "ma.li"),
        {
            "北京": [("北京", "010", "110000")],
            "天津": [("天津", "022", "120000")],
            "河北": [
                ("石家庄", "0311", "130100"),
                ("唐山", "0315", "130200"),
                ("保定", "0312", "130600"),
            ],
            "山西": [("太原", "0351", "140100")],
        },
    ),
]


@dataclass(frozen=True)
class Trade:
    industry: str  # the customer's industry field
    tag: str  # full tag path
    words: tuple[str, ...]  # what the company name says it does


TRADES = [
    Trade("制造业", "行业/制造业/汽车零部件", ("汽车零部件", "汽车配件", "精密部件", "汽车电子")),
    Trade("制造业", "行业/制造业/机械设备", ("机械设备", "精密机械", "自动化设备", "智能装备")),
    Trade("软件", "行业/软件", ("软件科技", "信息技术", "数据科技", "网络科技")),
    Trade("建材", "行业/建材", ("新型建材", "建筑材料", "门窗幕墙", "防水材料", "陶瓷")),
    Trade("医疗器械", "行业/医疗器械", ("医疗器械", "医疗科技", "生物医疗", "医用设备")),
]
TRADE_WEIGHTS = [25, 20, 20, 15, 20]

BRANDS = [
    *("恒通", "华锐", "金石", "宏达", "鼎盛", "瑞丰", "博远", "永信", "嘉禾", "远航", "天成"),
    *("众合", "精诚", "东升", "新程", "卓越", "汇川", "启明", "华辰", "安泰", "佳能达", "中科创"),
    *("鑫源", "长风", "德润", "广联", "海纳", "联创", "立信", "同和", "星河", "云帆", "拓普"),
    *("凯瑞", "万象", "锦程", "明德", "康达", "优利", "晨光"),
]
LEGAL_FORMS = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司"]
ROADS = ["人民", "解放", "建设", "中山", "科技", "工业", "创业", "长江", "黄河", "滨江", "新华"]

# (title, role, weight): the first contact of a company is usually who decides or buys.
TITLES = [
    ("总经理", "decision_maker", 10),
    ("董事长", "decision_maker", 3),
    ("副总经理", "decision_maker", 5),
    ("采购经理", "procurement", 12),
    ("采购专员", "procurement", 6),
    ("技术总监", "technical", 8),
    ("工程师", "technical", 6),
    ("设备主管", "technical", 4),
    ("生产经理", "user", 5),
    ("质量经理", "user", 4),
    ("财务经理", "other", 3),
    ("行政主管", "other", 2),
]
MOBILE_PREFIXES = [
    *("133", "135", "136", "137", "138", "139", "150", "151", "152", "157"),
    *("158", "159", "177", "180", "181", "186", "187", "188", "189", "199"),
]
STATUSES = [("new", 25), ("following", 40), ("won", 20), ("dormant", 10), ("lost", 5)]
POOL_REASONS = ["客户暂无需求", "多次联系不上", "预算冻结，明年再议", "已选择其他供应商"]

TAGS = [
    *(t.tag for t in TRADES),
    "来源/展会",
    "来源/官网",
    "来源/转介绍",
    "重点客户",
    "待激活",
]
SOURCE_TAGS = {"展会": "来源/展会", "官网": "来源/官网", "转介绍": "来源/转介绍"}

ANNUAL = "annual_purchase"
INTENT = "intent"


@dataclass
class Plan:
    name: str
    owner: str
    data: dict[str, Any]
    contacts: list[dict[str, Any]]
    tags: list[str]
    custom: dict[str, Any]
    next_days: int | None
    last_days: int | None
    pool_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ generation (pure)


def org_code_check(first8: str) -> str:
    """GB 11714 check character of an organisation code (positions 9-17 of a credit code)."""
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c, 36) * w for c, w in zip(first8, weights, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_code(rng: random.Random, division: str) -> str:
    from crm.customers.normalize import credit_code_check_char

    org8 = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = "91" + division + org8 + org_code_check(org8)
    return first17 + credit_code_check_char(first17)


def _weighted(rng: random.Random, items: list[tuple[Any, ...]]) -> Any:
    return rng.choices(items, weights=[i[-1] for i in items])[0]


class _Unique:
    """Keeps generated phones, emails, codes and name keys unique (the duplicate check
    would otherwise refuse the second company sharing one)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def take(self, value: str) -> bool:
        if value in self.seen:
            return False
        self.seen.add(value)
        return True


def _valid_phone(text: str) -> bool:
    from crm.core.errors import ValidationFailed
    from crm.customers.normalize import phone_normalize

    try:
        phone_normalize(text)
    except ValidationFailed:
        return False
    return True


def plan_customers(levels: list[str], sources: list[str]) -> list[Plan]:
    """The demo customers, always the same for the same seed (idempotent re-runs)."""
    from faker import Faker
    from pypinyin import lazy_pinyin

    from crm.customers.normalize import company_name_key

    rng = random.Random(SEED)  # noqa: S311  (demo data: repeatable, not secret)
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    unique = _Unique()
    level_weights = [(lvl, w) for lvl, w in zip(levels, [20, 45, 35, 10, 10, 10], strict=False)]
    plans: list[Plan] = []
    for region in REGIONS:
        count = CUSTOMERS_PER_REGION[region.name]
        made = 0
        while made < count:
            province = rng.choice(list(region.places))
            city, area, division = rng.choice(region.places[province])
            trade = rng.choices(TRADES, weights=TRADE_WEIGHTS)[0]
            brand = rng.choice(BRANDS)
            name = f"{city}{brand}{rng.choice(trade.words)}{rng.choice(LEGAL_FORMS)}"
            if not unique.take("n:" + company_name_key(name)):
                continue
            made += 1
            owner = region.owners[made % len(region.owners)]
            source = rng.choice(sources) if sources and rng.random() < 0.8 else ""
            level = _weighted(rng, level_weights)[0] if level_weights else ""
            data: dict[str, Any] = {
                "name": name,
                "industry": trade.industry,
                "level": level,
                "source": source,
                "province": province,
                "city": city,
                "status": _weighted(rng, STATUSES)[0],
            }
            if rng.random() < 0.75:
                data["address"] = f"{city}市{rng.choice(ROADS)}路{rng.randint(1, 999)}号"
            if rng.random() < 0.45:
                code = credit_code(rng, division)
                if unique.take("c:" + code):
                    data["credit_code"] = code
            if rng.random() < 0.3:
                data["website"] = f"www.{''.join(lazy_pinyin(brand))}{rng.randint(1, 99)}.com"
            domain = f"{''.join(lazy_pinyin(brand))}-{rng.randint(10, 999)}.com"
            contacts = []
            titles: set[str] = set()
            for i in range(rng.choices([1, 2, 3, 4], weights=[25, 35, 25, 15])[0]):
                person = fake.name()
                title, role, _w = rng.choice(TITLES[:6]) if i == 0 else _weighted(rng, TITLES)
                while title in titles and title in ("总经理", "董事长"):  # one of each
                    title, role, _w = _weighted(rng, TITLES)
                titles.add(title)
                contact: dict[str, Any] = {"name": person, "title": title, "role": role}
                mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 10**8 - 1):08d}"
                if _valid_phone(mobile) and unique.take("p:" + mobile):
                    contact["mobile"] = mobile
                if rng.random() < 0.3:
                    landline = f"{area}-{rng.choice('68')}{rng.randint(0, 10**7 - 1):07d}"
                    if _valid_phone(landline) and unique.take("p:" + landline):
                        contact["phone"] = landline
                if rng.random() < 0.5:
                    local = "".join(lazy_pinyin(person))
                    email = f"{local}@{domain}"
                    if unique.take("e:" + email):
                        contact["email"] = email
                if rng.random() < 0.25:
                    contact["wechat"] = f"wx_{''.join(lazy_pinyin(person))}{rng.randint(1, 99)}"
                if rng.random() < 0.3:
                    contact["birthday"] = dt.date(
                        rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28)
                    )
                contacts.append(contact)
            tags = [trade.tag]
            if source in SOURCE_TAGS:
                tags.append(SOURCE_TAGS[source])
            if level == (levels[0] if levels else "") and rng.random() < 0.5:
                tags.append("重点客户")
            if data["status"] == "dormant":
                tags.append("待激活")
            custom: dict[str, Any] = {}
            if rng.random() < 0.7:
                custom[ANNUAL] = str(rng.choice([20, 50, 80, 120, 200, 350, 500, 800, 1500, 3000]))
            if rng.random() < 0.7:
                custom[INTENT] = rng.choices(["高", "中", "低"], weights=[3, 5, 2])[0]
            # Follow-ups: most were contacted in the last two months, and some planned
            # follow-ups are already overdue (negative days).
            last_days = rng.randint(1, 60) if rng.random() < 0.85 else None
            next_days = (
                rng.randint(-10, 21)
                if data["status"] in ("new", "following") or rng.random() < 0.2
                else None
            )
            plans.append(Plan(name, owner, data, contacts, tags, custom, next_days, last_days))
    for plan in rng.sample(plans, POOL_COUNT):
        plan.pool_reason = rng.choice(POOL_REASONS)
    return plans


# ------------------------------------------------------------------ loading (through services)


def _tags(admin: User) -> dict[str, Any]:
    from crm.customers.models import Tag
    from crm.customers.services import tag_create

    out = {}
    for path in TAGS:
        tag = Tag.objects.filter(full_name=path).first()
        out[path] = tag or tag_create(actor=admin, name=path)
    return out


def _custom_fields(admin: User) -> None:
    from crm.customfields.models import CustomFieldDef
    from crm.customfields.services import custom_field_create

    if not CustomFieldDef.objects.filter(entity="customer", key=ANNUAL).exists():
        custom_field_create(
            actor=admin,
            entity="customer",
            key=ANNUAL,
            label="年采购额（万元）",
            type="money",
            help_text="预计每年从我司采购的金额",
            order=1,
        )
    if not CustomFieldDef.objects.filter(entity="customer", key=INTENT).exists():
        custom_field_create(
            actor=admin,
            entity="customer",
            key=INTENT,
            label="合作意向",
            type="choice",
            choices=["高", "中", "低"],
            order=2,
        )


def _usable_custom(custom: dict[str, Any]) -> dict[str, Any]:
    """Only values of fields that are still defined and active (an administrator may have
    changed them since the last run)."""
    from crm.customfields.services import custom_field_defs

    defs = {d.key: d for d in custom_field_defs("customer")}
    out = {}
    for key, value in custom.items():
        d = defs.get(key)
        if d is None or (d.type == "choice" and value not in d.choices):
            continue
        out[key] = value
    return out


@transaction.atomic
def demo_customers(users: dict[str, User]) -> str:
    from crm.customers import config
    from crm.customers.models import Customer
    from crm.customers.services import customer_create, customer_release

    admin = users.get("admin")
    if admin is None:
        return "customers: no admin user, skipped"
    tags = _tags(admin)
    _custom_fields(admin)
    existing = set(Customer.all_objects.values_list("name", flat=True))
    now = timezone.now()
    created = skipped = contacts = pooled = 0
    for plan in plan_customers(config.levels(), config.sources()):
        owner = users.get(plan.owner)
        if plan.name in existing or owner is None or not owner.is_active:
            skipped += 1
            continue
        try:
            customer = customer_create(
                actor=owner,
                data=plan.data,
                contacts=plan.contacts,
                tags=[tags[t] for t in plan.tags if t in tags],
                custom=_usable_custom(plan.custom),
            )
        except Conflict:
            # Someone registered the same company (or phone) by hand: theirs wins.
            skipped += 1
            continue
        created += 1
        contacts += len(plan.contacts)
        # Follow-up dates belong to the activities app (not built yet): set them directly
        # so the lists, the "due" filter and the pool rules have something to show.
        Customer.objects.filter(pk=customer.pk).update(
            last_follow_up_at=now - dt.timedelta(days=plan.last_days, hours=3)
            if plan.last_days is not None
            else None,
            next_follow_up_at=now + dt.timedelta(days=plan.next_days, hours=2)
            if plan.next_days is not None
            else None,
        )
        if plan.pool_reason:
            customer.refresh_from_db()
            customer_release(actor=owner, customer=customer, reason=plan.pool_reason)
            pooled += 1
    return (
        f"demo customers: {created} created ({contacts} contacts, {pooled} in the pool), "
        f"{skipped} already there"
    )


demo_step_register(20, "customers", demo_customers)
