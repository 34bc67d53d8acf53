"""Administrator settings for contracts (stored with crm.core.config, changed in the UI)."""

from __future__ import annotations

from typing import Any

from crm.core.config import setting_default, setting_get

CONTRACTS = "contracts.settings"

ATTACHMENT_TYPES = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
]

setting_default(
    CONTRACTS,
    {
        # Automatic numbers: <prefix>-<year>-<sequence>, e.g. HT-2026-0001 (编号规则).
        "number_prefix": "HT",
        "number_digits": 4,
        # Scanned contracts are larger than follow-up photos.
        "max_attachment_mb": 20,
        "allowed_types": ATTACHMENT_TYPES,
        # "Due soon" on the receivables page (the reminder rule has its own parameter).
        "due_soon_days": 30,
    },
)


def contract_settings() -> dict[str, Any]:
    return dict(setting_get(CONTRACTS))
