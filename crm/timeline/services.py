"""Appending to the timeline. Called from services (usually via an app's events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.audit.services import _jsonable
from crm.timeline.models import TimelineEvent


@dataclass(frozen=True)
class TimelineKind:
    key: str
    label: Any
    icon: str = "dot"
    color: str = "secondary"


_KINDS: dict[str, TimelineKind] = {}


def timeline_kind_register(kind: TimelineKind) -> None:
    _KINDS[kind.key] = kind


def timeline_kinds() -> dict[str, TimelineKind]:
    return dict(_KINDS)


def timeline_kind(key: str) -> TimelineKind:
    return _KINDS.get(key) or TimelineKind(key, key)


for _k in (
    TimelineKind("created", _("创建"), "plus", "green"),
    TimelineKind("updated", _("修改"), "edit", "blue"),
    TimelineKind("tagged", _("标签"), "tag", "purple"),
    TimelineKind("owner_changed", _("负责人变更"), "user", "orange"),
    TimelineKind("claimed", _("领取"), "hand", "teal"),
    TimelineKind("released", _("退回公海"), "arrow-back", "yellow"),
    TimelineKind("contact_added", _("新增联系人"), "user-plus", "green"),
    TimelineKind("contact_updated", _("联系人修改"), "edit", "blue"),
    TimelineKind("contact_deleted", _("联系人删除"), "trash", "red"),
    TimelineKind("deleted", _("删除"), "trash", "red"),
    TimelineKind("restored", _("恢复"), "restore", "green"),
    TimelineKind("collaborator", _("协作人"), "users", "cyan"),
    TimelineKind("handover", _("离职交接"), "switch", "orange"),
):
    timeline_kind_register(_k)


def timeline_append(
    *,
    customer_id: int,
    kind: str,
    actor: Any = None,
    summary: str = "",
    data: dict | None = None,
    contact_id: int | None = None,
    ref_entity: str = "",
    ref_id: Any = "",
    at: Any = None,
) -> TimelineEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return TimelineEvent.objects.create(
        customer_id=customer_id,
        contact_id=contact_id,
        kind=kind,
        actor=actor,
        summary=str(summary)[:500],
        data=_jsonable(data or {}),
        ref_entity=ref_entity,
        ref_id=str(ref_id or ""),
        at=at or timezone.now(),
    )


def timeline_append_many(events: list[TimelineEvent]) -> None:
    TimelineEvent.objects.bulk_create(events, batch_size=500)
