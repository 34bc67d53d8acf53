"""Reminder rules (提醒规则): list, edit and run them as of a chosen time. Administrators
only; for anyone else these endpoints do not exist (404).

Thin: reads through crm.reminders.selectors (which refuse non-administrators), writes and
runs through crm.reminders.services.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator

from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    page_out,
    paginate_sequence,
)
from crm.core.errors import DomainError, StaleVersion
from crm.reminders import selectors, services
from crm.reminders.models import ReminderRule
from crm.reminders.registry import condition_get, condition_list

router = Router(tags=["reminder rules"])


class RuleRunOut(Schema):
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    dry_run: bool
    matched: int
    new: int
    notified: int
    deferred_to: dt.datetime | None = None
    error: str


class RuleOut(Schema):
    id: int
    version: int
    key: str
    condition: str
    name: str
    description: str
    params: dict[str, Any]
    defaults: dict[str, Any] = Field(description="条件类型的默认参数（可设置的参数及其类型）")
    is_active: bool
    last_run: RuleRunOut | None = None
    updated_at: dt.datetime


def _rule_out(rule: ReminderRule) -> dict[str, Any]:
    condition = condition_get(rule.condition)
    run = getattr(rule, "last_run", None)
    return {
        "id": rule.pk,
        "version": rule.version,
        "key": rule.key,
        "condition": rule.condition,
        "name": rule.name,
        "description": str(condition.description) if condition else "",
        "params": rule.params or {},
        "defaults": dict(condition.defaults) if condition else {},
        "is_active": rule.is_active,
        "last_run": None
        if run is None
        else {
            "as_of": run.as_of,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "dry_run": run.dry_run,
            "matched": run.matched,
            "new": run.new,
            "notified": run.notified,
            "deferred_to": run.deferred_to,
            "error": run.error,
        },
        "updated_at": rule.updated_at,
    }


def _rules(actor: Any) -> list[ReminderRule]:
    rules = selectors.rule_list(actor=actor)  # refuses non-administrators (404)
    known = {r.key for r in rules}
    if any(c.key not in known for c in condition_list()):
        services.rules_ensure()  # a fresh installation: the built-in rules with defaults
        rules = selectors.rule_list(actor=actor)
    return rules


def _rule_detail(actor: Any, rule_id: int) -> dict[str, Any]:
    rule = selectors.rule_get(actor=actor, rule_id=rule_id)
    for listed in selectors.rule_list(actor=actor):
        if listed.pk == rule.pk:
            return _rule_out(listed)
    return _rule_out(rule)


@router.get("/reminder-rules", response={200: PageOut[RuleOut], **ERRORS})
def rule_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    """Every rule (one per built-in condition) with its parameters and its last run."""
    page = paginate_sequence(
        _rules(request.user), key=lambda r: f"{r.pk:020d}", cursor=params.cursor, limit=params.limit
    )
    return page_out(page, _rule_out)


def _as_of(value: dt.datetime) -> dt.datetime:
    if not 2000 <= value.year <= 2999:
        raise ValueError(_("时间超出范围"))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    try:
        value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(_("时间超出范围")) from exc
    return value


class RunIn(Schema):
    now: Annotated[dt.datetime, AfterValidator(_as_of)] | None = Field(
        None, description="按此时间运行（如 2027-01-08T09:00，不带时区即本地时间）；默认现在"
    )
    rules: list[Annotated[Text, Field(max_length=50)]] = Field(
        default_factory=list, max_length=50, description="只运行这些规则（键）；默认全部启用的规则"
    )
    dry_run: bool = Field(False, description="true：只预览，不发通知")


class RuleResultOut(Schema):
    rule: str
    matched: int = Field(description="满足条件的数量")
    new: int = Field(description="其中首次出现的（每次出现只提醒一次）")
    notified: int = Field(description="发出的通知数")
    deferred_to: dt.datetime | None = Field(None, description="非工作时间：通知推迟到此时")
    error: str
    samples: list[str]


@router.post("/reminder-rules/run", response={200: list[RuleResultOut], **ERRORS})
def rules_run(request: HttpRequest, payload: RunIn) -> list[dict[str, Any]]:
    """Run the rules as of `now` (preview with `dry_run`). Idempotent: an occurrence already
    notified is not notified again, however often the rules run."""
    actor = request.user
    _rules(actor)  # refuses non-administrators (404)
    try:
        results = services.rules_run(
            now=payload.now, keys=payload.rules or None, dry_run=payload.dry_run, actor=actor
        )
    except DomainError as exc:
        exc.errors = [{**e, "field": "rules"} for e in exc.errors]
        raise
    return [
        {
            "rule": r.rule,
            "matched": r.matched,
            "new": r.new,
            "notified": r.notified,
            "deferred_to": r.deferred_to,
            "error": r.error,
            "samples": r.samples,
        }
        for r in results
    ]


@router.get("/reminder-rules/{rule_id}", response={200: RuleOut, **ERRORS})
def rule_detail(request: HttpRequest, rule_id: Id) -> dict:
    return _rule_detail(request.user, rule_id)


def _storable(value: Any) -> Any:
    """JSON values a database can store: no NUL characters, no lone surrogates, anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(_("不能包含空字符（NUL）"))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(_("包含无效的 Unicode 字符")) from exc
    elif isinstance(value, dict):
        for item in value.values():
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(_("不是有效的数字"))
    return value


class RulePatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=100)
    params: Annotated[
        dict[Annotated[Text, Field(max_length=50)], Any], AfterValidator(_storable)
    ] = Field(
        UNSET, max_length=50, description="与 defaults 相同的键和值类型；未给出的键恢复默认值"
    )
    is_active: bool = Field(UNSET)


@router.patch("/reminder-rules/{rule_id}", response={200: RuleOut, **ERRORS})
def rule_update(request: HttpRequest, rule_id: Id, payload: RulePatchIn) -> dict:
    """A stale `version` is refused with 409 and the rule's current values in `current`."""
    actor = request.user
    rule = selectors.rule_get(actor=actor, rule_id=rule_id)
    changes = payload.model_dump(exclude_unset=True)
    try:
        services.rule_update(
            actor=actor,
            rule=rule,
            expected_version=changes.pop("version"),
            name=changes.get("name"),
            params=changes.get("params"),
            is_active=changes.get("is_active"),
        )
    except StaleVersion as exc:
        raise StaleVersion(exc.message, current=_rule_detail(actor, rule_id)) from exc
    return _rule_detail(actor, rule_id)
