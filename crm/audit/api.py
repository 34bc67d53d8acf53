"""The audit trail, for administrators."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["audit"])
