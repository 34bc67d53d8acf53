"""Side effects of customer services: timeline, search index, audit. Called only by services."""

from __future__ import annotations

from typing import Any

from crm.audit.services import audit_record
from crm.search.services import search_index
from crm.timeline.services import timeline_append


def customer_changed(
    *,
    customer: Any,
    actor: Any,
    kind: str,
    summary: str = "",
    changes: dict | None = None,
    audit_action: str | None = "update",
    contact: Any = None,
    data: dict | None = None,
) -> None:
    payload = dict(data or {})
    if changes:
        payload["changes"] = changes
    timeline_append(
        customer_id=customer.pk,
        contact_id=contact.pk if contact is not None else None,
        kind=kind,
        actor=actor,
        summary=summary,
        data=payload,
        ref_entity="contact" if contact is not None else "",
        ref_id=contact.pk if contact is not None else "",
    )
    if audit_action:
        audit_record(
            action=audit_action,
            actor=actor,
            obj=contact if contact is not None else customer,
            changes=changes or payload,
        )
    search_index(contact if contact is not None else customer)
