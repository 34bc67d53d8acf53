"""Home card for the collaboration inbox: shown only while requests wait for the user."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.core.home import HomeCard, home_card_provider


def _collaboration_cards(user: Any) -> list[HomeCard]:
    from crm.customers.selectors import collaboration_requests_pending_count

    n = collaboration_requests_pending_count(actor=user)
    if not n:
        return []
    return [
        HomeCard(
            _("待处理的协作申请"),
            n,
            reverse("collaboration_inbox"),
            hint=_("同事申请协作您或您团队的客户"),
        )
    ]


home_card_provider(11, _collaboration_cards)
