"""Administrator settings for follow-ups and tasks (stored with crm.core.config)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.core.config import setting_default, setting_get

FOLLOWUP = "activities.followup"

BUILTIN_KINDS: dict[str, Any] = {
    "call": _("电话"),
    "visit": _("拜访"),
    "meeting": _("会议"),
    "email": _("邮件"),
    "wechat": _("微信"),
    "note": _("备注"),
}

setting_default(
    FOLLOWUP,
    {
        # [key, label] pairs; administrators add their own (e.g. ["demo", "产品演示"]).
        # An empty label means the built-in, translated label of that key.
        "kinds": [[k, ""] for k in BUILTIN_KINDS],
        "next_action_required": False,
        # "live", or "t+1": managers see their team's activity only up to yesterday.
        "manager_view": "live",
        "default_next_days": 7,
        "max_attachment_mb": 10,
        "allowed_types": [
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/gif",
            "application/pdf",
            "text/plain",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ],
    },
)


def followup_settings() -> dict[str, Any]:
    return dict(setting_get(FOLLOWUP))


def followup_kinds() -> list[tuple[str, Any]]:
    kinds = followup_settings().get("kinds") or []
    return [(str(k), v or BUILTIN_KINDS.get(str(k), str(k))) for k, v in kinds]


def followup_kind_label(key: str) -> Any:
    for k, label in followup_kinds():
        if k == key:
            return label
    return BUILTIN_KINDS.get(key, key)


def manager_view_t1() -> bool:
    return followup_settings().get("manager_view") == "t+1"
