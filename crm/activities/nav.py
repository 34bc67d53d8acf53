"""Navigation entries and home cards of follow-ups and tasks."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register


def _can_view(entity: str) -> Any:
    return lambda u: can(u, "view", entity)


nav_register(NavItem("my_day", _("今天"), "my_day", "sun", lambda u: True, 5))
nav_register(NavItem("followups", _("跟进"), "followup_list", "message", _can_view("followup"), 12))
nav_register(NavItem("tasks", _("待办"), "task_list", "checkbox", _can_view("task"), 14))
nav_register(
    NavItem("talkscripts", _("话术模板"), "talkscript_list", "quote", is_admin, 60, "admin")
)
nav_register(
    NavItem(
        "activity_settings", _("跟进设置"), "activity_settings", "settings", is_admin, 61, "admin"
    )
)


def _cards(user: Any) -> list[HomeCard]:
    from crm.activities.selectors import my_day

    day = my_day(actor=user)
    overdue = len(day.overdue_tasks) + len(day.overdue_followups)
    today = len(day.today_tasks) + len(day.today_followups)
    hint = _("逾期 %(o)d 项 · 今天 %(t)d 项") % {"o": overdue, "t": today}
    return [HomeCard(_("我的今天"), overdue + today, reverse("my_day"), hint, "sun")]


home_card_provider(5, _cards)
