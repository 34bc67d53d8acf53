"""The audit trail, for administrators (anyone else gets 404: its existence is not confirmed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from crm.access.visibility import is_admin
from crm.audit.models import AuditEntry
from crm.audit.selectors import audit_list
from crm.audit.services import audit_verify_and_record
from crm.core.apiutils import ERRORS, ListParams, PageOut, Text, cursor_errors, page_limit, page_out
from crm.core.errors import NotFound

router = Router(tags=["audit"])


class AuditFilters(ListParams):
    actor: Text | None = Field(None, max_length=150, description="操作人用户名包含")
    action: Text | None = Field(None, max_length=20, description="动作，如 create、login_failed")
    entity: Text | None = Field(None, max_length=50, description="对象，如 user、department")
    object_id: Text | None = Field(None, max_length=64)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class AuditEntryOut(Schema):
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    object_id: str
    object_repr: str
    changes: Any
    ip: str
    hash: str


def _entry_out(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "entity": entry.entity,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "ip": entry.ip,
        "hash": entry.hash,
    }


@router.get("", response={200: PageOut[AuditEntryOut], **ERRORS})
def audit_entry_list(request: HttpRequest, filters: Query[AuditFilters]) -> dict:
    """Newest first. Filters combine with AND."""
    with cursor_errors(filters.cursor):
        page = audit_list(
            actor=request.user,
            filters=filters.model_dump(exclude={"cursor", "limit"}),
            cursor=filters.cursor,
            limit=page_limit(filters.limit),
        )
    return page_out(page, _entry_out)


class VerifyOut(Schema):
    ok: bool
    checked: int
    problems: list[str]


@router.post("/verify", response={200: VerifyOut, **ERRORS})
def audit_verify(request: HttpRequest) -> dict:
    """Walk the hash chain now; the result is itself written to the audit trail."""
    # Same rule as the audit list: administrators only, and 404 for everyone else.
    if not is_admin(request.user):
        raise NotFound()
    result = audit_verify_and_record()
    return {"ok": result.ok, "checked": result.checked, "problems": result.problems}
