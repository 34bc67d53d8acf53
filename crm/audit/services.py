"""Writing and verifying the audit trail. Only services call audit_record."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.audit.context import current_ip
from crm.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN/Infinity are not JSON; PostgreSQL's jsonb refuses them
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def entry_digest(entry: AuditEntry) -> str:
    payload = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "entity": entry.entity,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "ip": entry.ip,
        "prev": entry.prev_hash,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _entity_key(obj: Any) -> str:
    from crm.access.registry import entity_for_model

    try:
        return entity_for_model(type(obj)).key
    except LookupError:
        return type(obj)._meta.model_name or type(obj).__name__.lower()


def audit_record(
    *,
    action: str,
    actor: Any = None,
    obj: Any = None,
    entity: str = "",
    object_id: Any = "",
    object_repr: str = "",
    changes: dict | None = None,
    ip: str | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry to the chain (inside the caller's transaction when there is one)."""
    if obj is not None:
        entity = entity or _entity_key(obj)
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        at = timezone.now()
        entry = AuditEntry(
            seq=head.last_seq + 1,
            at=at,
            actor=actor,
            actor_name=(actor_name or (actor.get_username() if actor else ""))[:150],
            action=action,
            entity=entity[:50],
            object_id=str(object_id or "")[:64],
            object_repr=(object_repr or "")[:200],
            changes=_jsonable(changes or {}),
            ip=(ip if ip is not None else current_ip.get())[:64],
            prev_hash=head.last_hash,
        )
        entry.hash = entry_digest(entry)
        entry.save()
        AuditHead.objects.filter(pk=1).update(last_seq=entry.seq, last_hash=entry.hash)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that changed."""
    out: dict[str, list[Any]] = {}
    for key, new in after.items():
        old = before.get(key)
        if _jsonable(old) != _jsonable(new):
            out[key] = [_jsonable(old), _jsonable(new)]
    return out


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def audit_verify(batch: int = 5000) -> VerifyResult:
    """Walk the whole chain; report the first breaks (changed, removed or truncated entries)."""
    problems: list[str] = []
    expected_seq = 1
    prev = GENESIS
    checked = 0
    last_seq = 0
    while True:
        rows = list(AuditEntry.objects.filter(seq__gte=expected_seq).order_by("seq")[:batch])
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                problems.append(f"#{expected_seq}..#{entry.seq - 1} missing (removed entries)")
                prev = entry.prev_hash  # re-anchor to keep checking the rest
            if entry.prev_hash != prev:
                problems.append(f"#{entry.seq} does not follow the previous entry")
            if entry_digest(entry) != entry.hash:
                problems.append(f"#{entry.seq} content changed after it was written")
            prev = entry.hash
            expected_seq = entry.seq + 1
            last_seq = entry.seq
            checked += 1
        if len(problems) > 50:
            break
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        if checked:
            # The head anchors the tail: without it, removed last entries would go unseen.
            problems.append(f"chain ends at #{last_seq} but its head record is missing")
    elif head.last_seq != last_seq:
        problems.append(f"chain ends at #{last_seq} but the head records #{head.last_seq}")
    elif checked and head.last_hash != prev:
        problems.append(f"chain ends at #{last_seq} but the head records another hash for it")
    return VerifyResult(ok=not problems, checked=checked, problems=problems[:50])


def audit_verify_and_record() -> VerifyResult:
    """The nightly job: verify, then write the result into the chain itself."""
    result = audit_verify()
    audit_record(
        action="verify",
        entity="audit",
        actor_name="system",
        changes={"ok": result.ok, "checked": result.checked, "problems": result.problems[:10]},
        ip="",
    )
    return result
