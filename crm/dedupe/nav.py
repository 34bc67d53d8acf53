"""Menu entry and home card of the duplicate queue: for users who may review duplicates."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register
from crm.dedupe.models import DuplicatePair


def may_review(user: Any) -> bool:
    return can(user, "edit", DuplicatePair)


nav_register(
    NavItem("duplicates", _("重复客户"), "duplicate_list", "copy", may_review, 35, group="data")
)


def _cards(user: Any) -> list[HomeCard]:
    from crm.dedupe.selectors import duplicate_open_count

    if not may_review(user):
        return []
    count = duplicate_open_count(actor=user)
    if not count:
        return []
    shown = f"{count}+" if count >= 1000 else count
    return [HomeCard(_("疑似重复客户"), shown, reverse("duplicate_list"), icon="copy")]


home_card_provider(35, _cards)
