"""Who and where a request comes from, for audit entries written deep in services."""

from __future__ import annotations

import contextvars
from typing import Any

from django.conf import settings

current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("crm_current_ip", default="")


def client_ip(request: Any) -> str:
    """The client address. X-Forwarded-For is believed only behind a trusted proxy
    (CRM_TRUST_X_FORWARDED_FOR=true): otherwise anyone could write any IP into the audit log."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]
