"""Searchable entities register how a record becomes a SearchDoc and where its page is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm.search.keys import SearchDoc


@dataclass(frozen=True)
class Searchable:
    entity: str  # the access registry key, e.g. "customer"
    doc: Callable[[Any], SearchDoc]
    url: Callable[[Any], str]
    label: Any
    # How visible objects are loaded for display (select_related etc.).
    queryset: Callable[[], Any] | None = None
    order: int = 100
    # (actor, obj) -> (title, subtitle) rebuilt through field security: the index text is
    # not field-secured, so what a result line shows must come from the record itself.
    present: Callable[[Any, Any], tuple[str, str]] | None = None


_SEARCHABLES: dict[str, Searchable] = {}


def search_register(searchable: Searchable) -> None:
    _SEARCHABLES[searchable.entity] = searchable


def searchable_get(entity: str) -> Searchable | None:
    return _SEARCHABLES.get(entity)


def searchable_list() -> list[Searchable]:
    return sorted(_SEARCHABLES.values(), key=lambda s: s.order)
