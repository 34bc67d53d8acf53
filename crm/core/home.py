"""The home page shows what exists so far, for this user: each app contributes cards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class HomeCard:
    title: Any
    value: Any
    url: str
    hint: Any = ""
    icon: str = ""


CardProvider = Callable[[Any], list[HomeCard]]
_PROVIDERS: list[tuple[int, CardProvider]] = []


def home_card_provider(order: int, provider: CardProvider) -> None:
    _PROVIDERS.append((order, provider))


def home_cards(user: Any) -> list[HomeCard]:
    cards: list[HomeCard] = []
    for _order, provider in sorted(_PROVIDERS, key=lambda p: p[0]):
        cards.extend(provider(user))
    return cards
