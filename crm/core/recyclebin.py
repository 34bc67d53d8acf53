"""The recycle bin: the one place records are deleted, restored and purged.

Domain services call `record_delete`; nothing in the system hard-deletes a domain record
except `record_purge`, an explicit, audited administrator action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.registry import Entity, entity_for_model, entity_get, entity_list
from crm.access.visibility import can, is_admin, require, scope_q
from crm.audit.services import audit_record
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


@transaction.atomic
def record_delete(*, actor: Any, obj: Any) -> Any:
    require(actor, "delete", obj)
    if obj.deleted_at is not None:
        return obj
    obj.deleted_at = timezone.now()
    obj.deleted_by = actor
    type(obj).all_objects.filter(pk=obj.pk).update(
        deleted_at=obj.deleted_at, deleted_by=actor, version=obj.version + 1
    )
    obj.version += 1
    audit_record(action="delete", actor=actor, obj=obj)
    return obj


def _deleted_visible(actor: Any, entity: Entity) -> Any:
    """Deleted rows of an entity the actor could see when they were alive."""
    qs = entity.model.all_objects.deleted()  # type: ignore[attr-defined]
    if is_admin(actor):
        return qs
    from crm.access.visibility import grant_for

    grant = grant_for(actor, entity.key)
    if "delete" not in grant.actions:
        return qs.none()
    # The same rows the actor could delete (the delete scope), never shares or pools.
    reach = grant.scope_for("delete")
    q = scope_q(
        actor,
        entity,
        reach,
        include_reports=reach not in ("none", "own"),
        include_extra=False,
    )
    return qs if q is None else qs.filter(q)


@dataclass
class TrashRow:
    entity: Entity
    obj: Any


def trash_list(*, actor: Any, entity_key: str | None = None, limit: int = 200) -> list[TrashRow]:
    rows: list[TrashRow] = []
    for entity in entity_list():
        if not entity.soft_delete or (entity_key and entity.key != entity_key):
            continue
        for obj in _deleted_visible(actor, entity).order_by("-deleted_at")[:limit]:
            rows.append(TrashRow(entity, obj))
    rows.sort(key=lambda r: r.obj.deleted_at, reverse=True)
    return rows[:limit]


def trash_entities() -> list[Entity]:
    return [e for e in entity_list() if e.soft_delete]


def _trash_get(actor: Any, entity_key: str, pk: Any) -> Any:
    try:
        entity = entity_get(entity_key)
    except KeyError as exc:
        raise NotFound() from exc
    if not entity.soft_delete:
        raise NotFound()
    try:
        return _deleted_visible(actor, entity).get(pk=pk)
    except (ValueError, TypeError, ObjectDoesNotExist) as exc:
        raise NotFound() from exc


@transaction.atomic
def record_restore(*, actor: Any, entity_key: str, pk: Any) -> Any:
    obj = _trash_get(actor, entity_key, pk)
    type(obj).all_objects.filter(pk=obj.pk).update(
        deleted_at=None, deleted_by=None, version=obj.version + 1
    )
    obj.deleted_at = None
    obj.deleted_by = None
    obj.version += 1
    audit_record(action="restore", actor=actor, obj=obj)
    hook = entity_get(entity_key).extra.get("after_restore")
    if hook is not None:
        hook(obj, actor)
    return obj


@transaction.atomic
def record_purge(*, actor: Any, entity_key: str, pk: Any, confirm: str) -> None:
    """Erase a record for good. Only administrators, only from the bin, typed confirmation."""
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以彻底删除"))
    obj = _trash_get(actor, entity_key, pk)
    if (confirm or "").strip() != str(obj).strip():
        raise ValidationFailed(_("请输入记录名称以确认彻底删除"), field="confirm")
    audit_record(action="purge", actor=actor, obj=obj, changes={"repr": str(obj)})
    try:
        with transaction.atomic():
            type(obj).all_objects.filter(pk=obj.pk).delete()
    except (ProtectedError, RestrictedError) as exc:
        # Other records still point at it (a customer's quotes, contracts, payments…): say
        # which, and erase nothing. The audit entry above rolls back with the transaction.
        kinds = sorted({str(o._meta.verbose_name) for o in exc.args[1]})
        raise Conflict(
            _("还有其他记录引用它（%(kinds)s），不能彻底删除；请先处理这些记录")
            % {"kinds": "、".join(kinds)},
            field="confirm",
        ) from exc


def record_can_delete(actor: Any, obj: Any) -> bool:
    return can(actor, "delete", obj)


def entity_of(obj: Any) -> Entity:
    return entity_for_model(type(obj))
