"""Administrator configuration stored in the database (no deploy needed to change it).

Each setting has a code default; the stored value overrides it. Every change is audited.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction

from crm.core.errors import PermissionDenied, StaleVersion
from crm.core.models import SystemSetting

_DEFAULTS: dict[str, Any] = {}


def setting_default(key: str, value: Any) -> None:
    _DEFAULTS[key] = value


def setting_get(key: str) -> Any:
    row = SystemSetting.objects.filter(key=key).values_list("value", flat=True).first()
    default = copy.deepcopy(_DEFAULTS.get(key))
    if row is None:
        return default
    if isinstance(default, dict) and isinstance(row, dict):
        return {**default, **row}
    return row


def setting_version(key: str) -> int:
    return SystemSetting.objects.filter(key=key).values_list("version", flat=True).first() or 0


@transaction.atomic
def setting_set(*, actor: Any, key: str, value: Any, expected_version: int | None = None) -> Any:
    from crm.access.visibility import is_admin
    from crm.audit.services import audit_record, diff

    if actor is not None and not is_admin(actor):
        raise PermissionDenied()
    before = setting_get(key)
    row = SystemSetting.objects.select_for_update().filter(key=key).first()
    if row is None:
        if expected_version not in (None, 0):
            raise StaleVersion()
        row = SystemSetting.objects.create(key=key, value=value)
    else:
        if expected_version is not None and row.version != expected_version:
            raise StaleVersion(current={"value": row.value, "version": row.version})
        row.value = value
        row.version += 1
        row.save(update_fields=["value", "version", "updated_at"])
    changes = (
        diff(before, value)
        if isinstance(before, dict) and isinstance(value, dict)
        else {"value": [before, value]}
    )
    audit_record(
        action="config",
        actor=actor,
        entity="setting",
        object_id=key,
        object_repr=key,
        changes=changes,
    )
    return setting_get(key)
