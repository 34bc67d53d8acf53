"""Administrator settings of scheduled backups (stored with crm.core.config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from crm.core.config import setting_default, setting_get

SCHEDULE = "backup.schedule"

setting_default(
    SCHEDULE,
    {
        "enabled": True,
        "time": "02:30",  # local time of day
        "keep": 7,  # daily backups kept
        "directory": "",  # "" means <data dir>/backups
    },
)


def schedule() -> dict[str, Any]:
    return dict(setting_get(SCHEDULE))


def default_directory() -> Path:
    return Path(settings.DATA_DIR) / "backups"


def target_directory() -> Path:
    directory = str(schedule().get("directory") or "").strip()
    return Path(directory).expanduser() if directory else default_directory()
