"""API of contracts."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["contracts"])
