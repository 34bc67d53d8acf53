"""Options the import commands share: who runs them, the --mapping file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError


def actor_for(username: str | None) -> Any:
    from crm.access.models import User
    from crm.imports.selectors import import_default_actor_unscoped

    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user
    user = import_default_actor_unscoped()
    if user is None:
        raise CommandError(
            "no active administrator: create one with `crm createadmin` or pass --user"
        )
    return user


def mapping_load(path: str, headers: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """A JSON file: {"列名": "field", …} or {"mapping": {…}, "mode": …, "where": […]}.
    Columns are named by header text (or by index "0", "1", …)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"--mapping {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CommandError("--mapping: expected a JSON object")
    options = {}
    if isinstance(data.get("mapping"), dict):
        options = {k: v for k, v in data.items() if k != "mapping"}
        data = data["mapping"]
    by_header = {h: str(i) for i, h in enumerate(headers)}
    out: dict[str, str] = {}
    for column, key in data.items():
        index = by_header.get(str(column), str(column) if str(column).isdigit() else None)
        if index is None:
            raise CommandError(f"--mapping: the file has no column {column!r}")
        out[index] = str(key or "")
    return out, options
