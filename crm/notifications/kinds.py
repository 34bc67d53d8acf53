"""Kinds of notification: each app registers the kinds it sends and their default channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: Any
    default_channels: tuple[str, ...] = ("inapp",)


_KINDS: dict[str, NotificationKind] = {}


def kind_register(kind: NotificationKind) -> None:
    _KINDS[kind.key] = kind


def kind_get(key: str) -> NotificationKind:
    return _KINDS.get(key) or NotificationKind(key, key)


def kind_list() -> list[NotificationKind]:
    return list(_KINDS.values())


for _k in (
    NotificationKind("no_follow_up", _("客户长期未跟进"), ("inapp", "email")),
    NotificationKind("follow_up_overdue", _("跟进日期已过"), ("inapp",)),
    NotificationKind("birthday", _("联系人生日"), ("inapp",)),
    NotificationKind("festival", _("节日问候"), ("inapp",)),
    NotificationKind("task_due", _("待办到期"), ("inapp",)),
    NotificationKind("task_overdue", _("待办逾期"), ("inapp", "email")),
    NotificationKind("system", _("系统通知"), ("inapp",)),
):
    kind_register(_k)
