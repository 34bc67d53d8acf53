"""The navigation menu: each app adds its entries here when it exists (no dead links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any
    url_name: str
    icon: str
    visible: Callable[[Any], bool]
    order: int = 100
    section: str = "main"  # "main" or "admin"

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_ITEMS: list[NavItem] = []


def nav_register(item: NavItem) -> None:
    if all(i.key != item.key for i in _ITEMS):
        _ITEMS.append(item)


def nav_items(user: Any, section: str) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted(
        (i for i in _ITEMS if i.section == section and i.visible(user)), key=lambda i: i.order
    )
