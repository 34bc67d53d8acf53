"""Who and where a request comes from, for audit entries written deep in services."""

from __future__ import annotations

import contextvars

current_ip: contextvars.ContextVar[str] = contextvars.ContextVar("crm_current_ip", default="")


def client_ip(request) -> str:  # type: ignore[no-untyped-def]
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]
