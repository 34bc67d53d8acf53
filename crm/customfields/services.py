"""Defining custom fields (administrators) and validating their values (everyone)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm.access.registry import entity_exists
from crm.access.visibility import is_admin
from crm.audit.services import audit_record, diff
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.core.versioning import save_with_version
from crm.customfields.models import CustomFieldDef, CustomFieldType

ENTITIES_WITH_CUSTOM_FIELDS: dict[str, Any] = {}  # entity key -> label, filled by apps


def custom_entity_register(entity: str, label: Any, statuses: list[tuple[str, Any]]) -> None:
    """An app says its entity takes custom fields, and which statuses/stages it has."""
    ENTITIES_WITH_CUSTOM_FIELDS[entity] = {"label": label, "statuses": statuses}


def custom_field_defs(entity: str, *, active_only: bool = True) -> list[CustomFieldDef]:
    qs = CustomFieldDef.objects.filter(entity=entity)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("order", "id"))


FIELDS = [
    "label",
    "type",
    "choices",
    "help_text",
    "required_from",
    "filterable",
    "order",
    "is_active",
]


def _clean_def(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    if not entity_exists(entity) or entity not in ENTITIES_WITH_CUSTOM_FIELDS:
        raise ValidationFailed(_("该对象不支持自定义字段"), field="entity")
    label = str(data.get("label") or "").strip()
    if not label:
        raise ValidationFailed(_("请填写显示名称"), field="label")
    if len(label) > 100:
        raise ValidationFailed(_("显示名称不能超过 100 个字符"), field="label")
    ftype = data.get("type")
    if ftype not in CustomFieldType.values:
        raise ValidationFailed(_("请选择字段类型"), field="type")
    choices = data.get("choices") or []
    if isinstance(choices, str):
        choices = [c.strip() for c in re.split(r"[\n,，]", choices) if c.strip()]
    choices = [str(c).strip()[:100] for c in choices if str(c).strip()]
    if ftype in (CustomFieldType.CHOICE, CustomFieldType.MULTICHOICE) and not choices:
        raise ValidationFailed(_("单选/多选字段至少需要一个选项"), field="choices")
    if len(set(choices)) != len(choices):
        raise ValidationFailed(_("选项不能重复"), field="choices")
    required_from = str(data.get("required_from") or "")
    statuses = [s for s, _l in ENTITIES_WITH_CUSTOM_FIELDS[entity]["statuses"]]
    if required_from and required_from not in statuses:
        raise ValidationFailed(_("未知的状态"), field="required_from")
    try:
        order = int(data.get("order") or 0)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("排序必须是整数"), field="order") from exc
    return {
        "label": label,
        "type": ftype,
        "choices": choices,
        "help_text": str(data.get("help_text") or "")[:200],
        "required_from": required_from,
        "filterable": bool(data.get("filterable", True)),
        "order": order,
        "is_active": bool(data.get("is_active", True)),
    }


@transaction.atomic
def custom_field_create(*, actor: Any, entity: str, key: str, **data: Any) -> CustomFieldDef:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以定义自定义字段"))
    key = (key or "").strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key):
        raise ValidationFailed(_("字段键以小写字母开头，只含小写字母、数字和下划线"), field="key")
    clean = _clean_def(entity, data)
    if CustomFieldDef.objects.filter(entity=entity, key=key).exists():
        raise ValidationFailed(_("该对象已有同名字段键"), field="key")
    field = CustomFieldDef.objects.create(entity=entity, key=key, **clean)
    audit_record(action="config", actor=actor, obj=field, entity="customfield", changes=clean)
    return field


@transaction.atomic
def custom_field_update(
    *, actor: Any, field: CustomFieldDef, expected_version: int | None, **data: Any
) -> CustomFieldDef:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以定义自定义字段"))
    before = {f: getattr(field, f) for f in FIELDS}
    merged = {**before, **data}
    clean = _clean_def(field.entity, merged)
    if clean["type"] != field.type and _has_values(field):
        raise ValidationFailed(_("已有数据的字段不能改变类型；可停用后新建字段"), field="type")
    for key, value in clean.items():
        setattr(field, key, value)
    save_with_version(field, expected_version=expected_version, fields=FIELDS)
    changes = diff(before, clean)
    if changes:
        audit_record(action="config", actor=actor, obj=field, entity="customfield", changes=changes)
    return field


def _has_values(field: CustomFieldDef) -> bool:
    from crm.access.registry import entity_get

    model = entity_get(field.entity).model
    return model._default_manager.filter(custom__has_key=field.key).exists()


def _value_error(field: CustomFieldDef, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=f"custom.{field.key}")


def custom_value_clean(field: CustomFieldDef, value: Any) -> Any:
    """One value, validated by type; '' / None / [] mean 'not filled' and return None."""
    if value is None or value == "" or value == []:
        return None
    t = field.type
    if t in (CustomFieldType.TEXT, CustomFieldType.LONGTEXT):
        text = str(value).strip()
        limit = 200 if t == CustomFieldType.TEXT else 5000
        if len(text) > limit:
            raise _value_error(
                field, _("%(label)s 不能超过 %(n)d 个字符") % {"label": field.label, "n": limit}
            )
        return text or None
    if t in (CustomFieldType.NUMBER, CustomFieldType.MONEY):
        if isinstance(value, bool):
            raise _value_error(field, _("%(label)s 必须是数字") % {"label": field.label})
        try:
            number = Decimal(str(value).replace(",", "").replace("¥", "").strip())
        except (InvalidOperation, ValueError) as exc:
            raise _value_error(field, _("%(label)s 必须是数字") % {"label": field.label}) from exc
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise _value_error(field, _("%(label)s 超出范围") % {"label": field.label})
        if t == CustomFieldType.MONEY:
            # 四舍五入, as on an invoice (Decimal's default would round half to even).
            number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return str(number) if t == CustomFieldType.MONEY else float(number)
    if t == CustomFieldType.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError as exc:
            raise _value_error(
                field, _("%(label)s 日期格式应为 2026-01-31") % {"label": field.label}
            ) from exc
    if t == CustomFieldType.CHOICE:
        if str(value) not in field.choices:
            raise _value_error(field, _("%(label)s 不是可选的值") % {"label": field.label})
        return str(value)
    if t == CustomFieldType.MULTICHOICE:
        values = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
        values = [str(v).strip() for v in values]
        bad = [v for v in values if v not in field.choices]
        if bad:
            raise _value_error(
                field,
                _("%(label)s 含有不可选的值：%(v)s")
                % {"label": field.label, "v": ", ".join(bad)[:100]},
            )
        return list(dict.fromkeys(values)) or None
    if t == CustomFieldType.USER:
        from crm.access.models import User

        try:
            pk = int(value)
        except (TypeError, ValueError) as exc:
            raise _value_error(field, _("%(label)s 请选择人员") % {"label": field.label}) from exc
        if not User.objects.filter(pk=pk, is_active=True).exists():
            raise _value_error(field, _("%(label)s 请选择在职人员") % {"label": field.label})
        return pk
    if t == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "是", "y"):
            return True
        if text in ("0", "false", "no", "off", "否", "n"):
            return False
        raise _value_error(field, _("%(label)s 只能是 是/否") % {"label": field.label})
    return value


def custom_values_clean(
    *,
    entity: str,
    values: dict[str, Any] | None,
    existing: dict[str, Any] | None = None,
    status: str | None = None,
    status_order: list[str] | None = None,
) -> dict[str, Any]:
    """Merge `values` into `existing`, validating each by its definition.

    Unknown keys are refused (a typo must not silently vanish). A field with `required_from`
    is required only once the record's status is at or past that status in `status_order`.
    """
    defs = {d.key: d for d in custom_field_defs(entity)}
    result = dict(existing or {})
    for key, value in (values or {}).items():
        if key not in defs:
            raise ValidationFailed(
                _("未知的自定义字段：%s") % str(key)[:50], field=f"custom.{str(key)[:50]}"
            )
        cleaned = custom_value_clean(defs[key], value)
        if cleaned is None:
            result.pop(key, None)
        else:
            result[key] = cleaned
    if status and status_order and status in status_order:
        reached = status_order.index(status)
        for d in defs.values():
            if (
                d.required_from
                and d.required_from in status_order
                and status_order.index(d.required_from) <= reached
                and key_missing(result, d.key)
            ):
                raise _value_error(d, _("进入当前状态后，%(label)s 为必填") % {"label": d.label})
    return result


def key_missing(values: dict[str, Any], key: str) -> bool:
    return values.get(key) in (None, "", [])
