"""`crm demo` step: monthly sales targets for the demo sales team.

Set through the service, as the managers would: 孙浩 (director) sets his three managers' and
the three sales departments' targets, each manager their reps'. The months are those of the
current and the next quarter, so the forecast's default period (this quarter) shows
attainment. Idempotent: setting the same amount again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from crm.access.models import Department, User
from crm.demo import demo_step_register

# (who sets, whose target, monthly amount in yuan)
PEOPLE = [
    ("sun.hao", "li.na", 200_000),
    ("sun.hao", "huang.qiang", 200_000),
    ("sun.hao", "ma.li", 150_000),
    ("li.na", "zhang.wei", 600_000),
    ("li.na", "wu.lei", 500_000),
    ("huang.qiang", "wang.fang", 550_000),
    ("huang.qiang", "zhou.jie", 450_000),
    ("ma.li", "gao.yang", 400_000),
]
DEPARTMENTS = [
    ("sun.hao", "华东销售部", 1_400_000),
    ("sun.hao", "华南销售部", 1_250_000),
    ("sun.hao", "华北销售部", 600_000),
]


def _months(today: dt.date) -> list[dt.date]:
    start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    out = []
    for i in range(6):
        index = start.year * 12 + start.month - 1 + i
        out.append(dt.date(index // 12, index % 12 + 1, 1))
    return out


def demo_targets(users: dict[str, User]) -> str:
    from crm.forecast.services import targets_save

    months = _months(timezone.localdate())
    # {setter: {year: {"u12": {month: amount}}}}
    plan: dict[str, dict[int, dict[str, dict[int, Decimal]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for setter, username, amount in PEOPLE:
        person = users.get(username)
        if person is None or users.get(setter) is None:
            continue
        for month in months:
            row = plan[setter][month.year].setdefault(f"u{person.pk}", {})
            # A little seasonality: the last month of a quarter carries more.
            factor = Decimal("1.3") if month.month % 3 == 0 else Decimal(1)
            row[month.month] = Decimal(amount) * factor
    for setter, name, amount in DEPARTMENTS:
        dept = Department.objects.filter(name=name).first()
        if dept is None or users.get(setter) is None:
            continue
        for month in months:
            row = plan[setter][month.year].setdefault(f"d{dept.pk}", {})
            factor = Decimal("1.3") if month.month % 3 == 0 else Decimal(1)
            row[month.month] = Decimal(amount) * factor
    changed = 0
    for setter, years in plan.items():
        for year, values in years.items():
            changed += targets_save(actor=users[setter], year=year, values=values)
    first, last = months[0], months[-1]
    return f"sales targets {first:%Y-%m}…{last:%Y-%m}: {changed} set"


demo_step_register(45, "forecast targets", demo_targets)
