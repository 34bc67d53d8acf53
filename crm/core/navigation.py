"""The navigation menu: each app adds its entries here when it exists (no dead links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any
    url_name: str
    icon: str
    visible: Callable[[Any], bool]
    order: int = 100
    section: str = "main"  # "main" or "admin"
    # Main-section items of one group share a dropdown (NAV_GROUPS) when two or more of
    # them are visible to the user; a group with one visible item shows it directly.
    group: str = ""

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


# key → (label, order among the main items). The menu stays one line wide at 1280 px.
NAV_GROUPS: dict[str, tuple[Any, int]] = {
    "sales": (_("销售"), 26),
    "data": (_("数据"), 79),
}


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: Any
    order: int
    items: list[NavItem]

    @property
    def url_names(self) -> list[str]:
        return [i.url_name for i in self.items]


def nav_menu(user: Any) -> list[NavItem | NavGroup]:
    """The main menu: ungrouped items and dropdown groups, in order."""
    entries: list[NavItem | NavGroup] = []
    grouped: dict[str, list[NavItem]] = {}
    for item in nav_items(user, "main"):
        if item.group and item.group in NAV_GROUPS:
            grouped.setdefault(item.group, []).append(item)
        else:
            entries.append(item)
    for key, items in grouped.items():
        if len(items) == 1:
            entries.append(items[0])
        else:
            label, order = NAV_GROUPS[key]
            entries.append(NavGroup(key, label, order, items))
    return sorted(entries, key=lambda e: e.order)
