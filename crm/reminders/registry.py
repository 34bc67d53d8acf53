"""Condition types a reminder rule can use. Apps register theirs (the sales app will add
"opportunity stalled in stage", "payment due"); the engine does the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Occurrence:
    key: str  # identifies the occurrence: the rule notifies once per key
    users: list[Any]
    title: str
    body: str = ""
    url: str = ""
    # An optional task to create for users[0] (e.g. "call back the customer").
    task: dict[str, Any] | None = None
    extra_users: list[Any] = field(default_factory=list)  # copies (e.g. the manager)
    extra_title: str = ""


@dataclass(frozen=True)
class Condition:
    key: str
    label: Any
    notification_kind: str
    defaults: dict[str, Any]
    find: Callable[[dt.datetime, dict[str, Any]], Iterable[Occurrence]]
    description: Any = ""


_CONDITIONS: dict[str, Condition] = {}


def condition_register(condition: Condition) -> None:
    _CONDITIONS[condition.key] = condition


def condition_get(key: str) -> Condition | None:
    return _CONDITIONS.get(key)


def condition_list() -> list[Condition]:
    return list(_CONDITIONS.values())
