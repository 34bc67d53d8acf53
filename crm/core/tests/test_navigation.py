"""The main menu: grouped items become one dropdown when two or more are visible."""

from __future__ import annotations

from typing import Any

import pytest

from crm.core import navigation
from crm.core.navigation import NavGroup, NavItem, nav_menu


class _User:
    is_authenticated = True


@pytest.fixture
def items(monkeypatch: Any) -> list[NavItem]:
    registered: list[NavItem] = []
    monkeypatch.setattr(navigation, "_ITEMS", registered)
    return registered


def _item(key: str, order: int, group: str = "", visible: bool = True) -> NavItem:
    return NavItem(key, key, "home", "x", lambda u: visible, order, group=group)


def test_group_of_two_visible_items_is_one_dropdown_in_order(items: list[NavItem]) -> None:
    items += [
        _item("customers", 10),
        _item("quotes", 26, "sales"),
        _item("contracts", 70, "sales"),
        _item("pool", 30),
    ]
    menu = nav_menu(_User())
    assert [getattr(e, "key", None) for e in menu] == ["customers", "sales", "pool"]
    group = menu[1]
    assert isinstance(group, NavGroup)
    assert [i.key for i in group.items] == ["quotes", "contracts"]
    assert group.url_names == ["home", "home"]


def test_group_with_one_visible_item_shows_the_item_itself(items: list[NavItem]) -> None:
    items += [_item("imports", 80, "data"), _item("duplicates", 35, "data", visible=False)]
    menu = nav_menu(_User())
    assert [e.key for e in menu] == ["imports"]
    assert isinstance(menu[0], NavItem)


def test_unknown_group_is_shown_ungrouped_and_anonymous_sees_nothing(
    items: list[NavItem],
) -> None:
    items += [_item("a", 1, "nope"), _item("b", 2, "nope")]
    assert [e.key for e in nav_menu(_User())] == ["a", "b"]

    class _Anon:
        is_authenticated = False

    assert nav_menu(_Anon()) == []
