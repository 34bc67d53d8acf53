"""Leads for tests: created through the service, so history and assignment are real."""

from __future__ import annotations

import itertools
from typing import Any

from crm.leads.models import AssignmentRule, Lead, RuleMatch, RuleStrategy
from crm.leads.services import lead_create

_seq = itertools.count(1)


def make_lead(actor: Any, *, owner: Any = None, **data: Any) -> Lead:
    n = next(_seq)
    values = {"name": f"线索{n}", "mobile": f"139{n:08d}", "company": f"测试公司{n}"}
    values.update(data)
    return lead_create(actor=actor, data=values, owner=owner)


def pool_lead(**data: Any) -> Lead:
    """A lead no rule matched (created by the system with no rules configured)."""
    n = next(_seq)
    values = {"name": f"池线索{n}", "mobile": f"137{n:08d}"}
    values.update(data)
    return lead_create(actor=None, data=values, system=True)


def make_rule(
    name: str,
    *,
    match: str = RuleMatch.REGION,
    values: list[str] | None = None,
    strategy: str = RuleStrategy.ROUND_ROBIN,
    department: Any = None,
    user: Any = None,
    order: int = 0,
    is_active: bool = True,
) -> AssignmentRule:
    return AssignmentRule.objects.create(
        name=name,
        match=match,
        values=values or [],
        strategy=strategy,
        department=department,
        user=user,
        order=order,
        is_active=is_active,
    )
