from __future__ import annotations

from typing import Any

from crm.access.visibility import is_admin
from crm.audit.models import AuditEntry
from crm.core.errors import NotFound
from crm.core.pagination import Page, paginate


def audit_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50) -> Page:
    """Administrators only; filters: actor (username), action, entity, object_id, date_from/to."""
    if not is_admin(actor):
        raise NotFound()
    qs = AuditEntry.objects.all()
    if filters.get("actor"):
        qs = qs.filter(actor_name__icontains=filters["actor"])
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("entity"):
        qs = qs.filter(entity=filters["entity"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=str(filters["object_id"]))
    if filters.get("ip"):
        qs = qs.filter(ip=filters["ip"])
    if filters.get("date_from"):
        qs = qs.filter(at__date__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(at__date__lte=filters["date_to"])
    return paginate(qs, ordering=("-seq",), cursor=cursor, limit=limit)


def audit_count_since(*, actor: Any, since: Any) -> int:
    """Entries written since `since` (administrators only; 0 for anyone else)."""
    if not is_admin(actor):
        return 0
    return AuditEntry.objects.filter(at__gte=since).count()
