"""Writes of the forecast app: sales targets (one at a time, or a year's grid) and the
forecast summary's rebuild and check."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.access.models import Department, User
from crm.audit.services import audit_record
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.forecast import summary
from crm.forecast.models import SalesTarget
from crm.forecast.selectors import month_parse, target_can_set, target_reach

log = logging.getLogger(__name__)

AMOUNT_MAX = Decimal("99999999999999.99")  # max_digits=16, decimal_places=2
_WAN = re.compile(r"^([0-9.]+)\s*万$")


def amount_parse(value: Any, field: str = "amount") -> Decimal | None:
    """A target amount: "120000", "120,000", "12万", "12 万元"; empty means none."""
    if value is None:
        return None
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    else:
        text = str(value).strip().replace(",", "").replace("，", "").replace("元", "")
        text = text.replace("¥", "").replace("￥", "").strip()
        if not text:
            return None
        factor = Decimal(1)
        wan = _WAN.match(text)
        if wan:
            text, factor = wan.group(1), Decimal(10_000)
        try:
            number = Decimal(text) * factor
        except InvalidOperation:
            raise ValidationFailed(_("请输入金额，如 120000 或 12万"), field=field) from None
    if not number.is_finite():
        raise ValidationFailed(_("请输入金额，如 120000 或 12万"), field=field)
    if number < 0:
        raise ValidationFailed(_("目标金额不能为负数"), field=field)
    if number > AMOUNT_MAX:
        raise ValidationFailed(_("目标金额过大"), field=field)
    return number.quantize(Decimal("0.01"))


def _require_can_set(actor: Any) -> None:
    if not target_can_set(actor):
        raise PermissionDenied(_("您没有设置销售目标的权限"))


def _require_user(actor: Any, user: User, reach: list[int] | None) -> None:
    if reach is not None and user.pk not in reach:
        raise PermissionDenied(_("只能为您的下属或本部门（含下级部门）的成员设置目标"))


def _require_department(actor: Any, department: Department, reach: list[int] | None) -> None:
    if reach is not None and department.pk not in reach:
        raise PermissionDenied(_("只能为本部门及下级部门设置目标"))


def _label(user: User | None, department: Department | None) -> str:
    if user is not None:
        return user.name
    return department.name if department is not None else ""


@transaction.atomic
def target_set(
    *,
    actor: Any,
    month: Any,
    amount: Any,
    user: User | None = None,
    department: Department | None = None,
) -> SalesTarget | None:
    """Set (or, with an empty amount, remove) the target of a person or a department for
    one month. Managers set their reports' and their departments' targets (subtree);
    administrators anyone's; nobody their own."""
    if (user is None) == (department is None):
        raise ValidationFailed(_("请选择一位销售或一个部门"), field="user_id")
    _require_can_set(actor)
    users, departments = target_reach(actor)
    if user is not None:
        _require_user(actor, user, users)
    if department is not None:
        _require_department(actor, department, departments)
    first = month_parse(month, "month")
    value = amount_parse(amount)
    existing = (
        SalesTarget.objects.select_for_update()
        .filter(user=user, department=department, month=first)
        .first()
    )
    return _apply(actor, user, department, first, existing, value)


def _apply(
    actor: Any,
    user: User | None,
    department: Department | None,
    month: dt.date,
    existing: SalesTarget | None,
    value: Decimal | None,
) -> SalesTarget | None:
    label = f"{_label(user, department)} {month:%Y-%m}"
    if value is None:
        if existing is not None:
            audit_record(
                action="delete",
                actor=actor,
                obj=existing,
                object_repr=label,
                changes={"amount": [str(existing.amount), None]},
            )
            existing.delete()  # a setting, not a domain record: no recycle bin
        return None
    if existing is not None:
        if existing.amount == value:
            return existing
        before = existing.amount
        existing.amount = value
        existing.set_by = actor
        existing.save(update_fields=["amount", "set_by", "updated_at"])
        audit_record(
            action="update",
            actor=actor,
            obj=existing,
            object_repr=label,
            changes={"amount": [str(before), str(value)]},
        )
        return existing
    target = SalesTarget.objects.create(
        user=user, department=department, month=month, amount=value, set_by=actor
    )
    audit_record(
        action="create",
        actor=actor,
        obj=target,
        object_repr=label,
        changes={"amount": [None, str(value)]},
    )
    return target


@transaction.atomic
def target_delete(*, actor: Any, target: SalesTarget) -> None:
    _require_can_set(actor)
    users, departments = target_reach(actor)
    if target.user_id is not None:
        _require_user(actor, target.user, users)  # type: ignore[arg-type]
    else:
        _require_department(actor, target.department, departments)  # type: ignore[arg-type]
    _apply(actor, target.user, target.department, target.month, target, None)


@transaction.atomic
def targets_save(*, actor: Any, year: int, values: dict[str, dict[int, Any]]) -> int:
    """Save a year's grid: {"u<user id>" | "d<department id>": {month 1–12: amount or ""}}.

    Every cell is checked before anything is written (one refusal saves nothing); a
    changed cell is created, updated or — emptied — removed. Returns how many changed."""
    _require_can_set(actor)
    if not 2000 <= int(year) <= 2100:
        raise ValidationFailed(_("年份超出范围"), field="year")
    users, departments = target_reach(actor)
    user_ids: list[int] = []
    dept_ids: list[int] = []
    parsed: dict[tuple[str, int], dict[dt.date, Decimal | None]] = {}
    errors: list[dict[str, str]] = []
    for key, cells in values.items():
        kind, raw_pk = key[:1], key[1:]
        if kind not in ("u", "d") or not raw_pk.isdigit():
            raise ValidationFailed(_("提交的数据无效"), field="targets")
        pk = int(raw_pk)
        (user_ids if kind == "u" else dept_ids).append(pk)
        row: dict[dt.date, Decimal | None] = {}
        for month_no, raw in cells.items():
            if not 1 <= int(month_no) <= 12:
                raise ValidationFailed(_("提交的数据无效"), field="targets")
            field = f"{key}-{int(month_no)}"
            try:
                row[dt.date(int(year), int(month_no), 1)] = amount_parse(raw, field)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        parsed[(kind, pk)] = row
    if errors:
        raise ValidationFailed(_("有 %(n)d 个目标金额无效") % {"n": len(errors)}, errors=errors)
    people = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    depts = {d.pk: d for d in Department.objects.filter(pk__in=dept_ids)}
    for pk in user_ids:
        if pk not in people:
            raise ValidationFailed(_("所选销售不存在"), field=f"u{pk}")
        _require_user(actor, people[pk], users)
    for pk in dept_ids:
        if pk not in depts:
            raise ValidationFailed(_("所选部门不存在"), field=f"d{pk}")
        _require_department(actor, depts[pk], departments)
    rows = SalesTarget.objects.select_for_update().filter(
        Q(user_id__in=user_ids) | Q(department_id__in=dept_ids), month__year=int(year)
    )
    stored = {(t.user_id, t.department_id, t.month): t for t in rows}
    changed = 0
    for (kind, pk), row in parsed.items():
        user = people.get(pk) if kind == "u" else None
        dept = depts.get(pk) if kind == "d" else None
        for month, value in row.items():
            existing = stored.get((pk if kind == "u" else None, pk if kind == "d" else None, month))
            if value is None and existing is None:
                continue
            if existing is not None and value == existing.amount:
                continue
            _apply(actor, user, dept, month, existing, value)
            changed += 1
    return changed


# ---------------------------------------------------------------- the summary


@transaction.atomic
def forecast_summary_rebuild() -> int:
    """Reinstall the triggers and recompute the forecast summary from the opportunities
    (after a bulk load with the triggers off, or a TIME_ZONE change). Returns the cells."""
    summary.install()
    return summary.rebuild()


def forecast_summary_check() -> int:
    """Compare the summary with the opportunities; rebuild it when they differ (a trigger
    lost to a table rebuild, a bulk load). Returns the number of differing cells found."""
    missing_triggers = not summary.installed()
    differing = summary.differences()
    if missing_triggers or differing:
        log.warning(
            "forecast summary: %d differing cells, triggers %s; rebuilding",
            differing,
            "missing" if missing_triggers else "present",
        )
        forecast_summary_rebuild()
    return differing
