"""The caller's own in-app notifications: list, unread count, mark read.

Thin: reads through crm.notifications.selectors, writes through crm.notifications.services.
Only the caller's own notifications exist here: another user's id is simply not found.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from crm.core.apiutils import (
    ERRORS,
    ID_MAX,
    ListParams,
    PageOut,
    cursor_errors,
    page_limit,
    page_out,
)
from crm.core.errors import ValidationFailed
from crm.notifications import selectors, services
from crm.notifications.kinds import kind_get
from crm.notifications.models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    url: str = Field(description="相关记录的页面地址（站内路径）")
    at: dt.datetime = Field(description="通知时间（免打扰或非工作时间推迟后的时间）")
    created_at: dt.datetime
    read: bool
    read_at: dt.datetime | None = None


def _notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "kind": n.kind,
        "kind_label": str(kind_get(n.kind).label),
        "title": n.title,
        "body": n.body,
        "url": n.url,
        "at": n.deliver_after,
        "created_at": n.created_at,
        "read": n.read_at is not None,
        "read_at": n.read_at,
    }


class NotificationFilters(ListParams):
    unread: bool = Field(False, description="true：只看未读")


@router.get("/notifications", response={200: PageOut[NotificationOut], **ERRORS})
def notification_list(request: HttpRequest, filters: Query[NotificationFilters]) -> dict:
    """The caller's notifications that are due, newest first."""
    with cursor_errors(filters.cursor):
        page = selectors.notification_list(
            actor=request.user,
            unread=filters.unread,
            cursor=filters.cursor,
            limit=page_limit(filters.limit),
        )
    return page_out(page, _notification_out)


class UnreadCountOut(Schema):
    count: int


@router.get("/notifications/unread-count", response={200: UnreadCountOut, **ERRORS})
def notification_unread_count(request: HttpRequest) -> dict:
    """For the bell."""
    return {"count": selectors.notification_unread_count(actor=request.user)}


class MarkReadIn(Schema):
    ids: list[int] = Field(default_factory=list, max_length=500)
    all: bool = Field(False, description="true：全部标为已读（忽略 ids）")


class MarkReadOut(Schema):
    updated: int = Field(description="新标为已读的条数")


@router.post("/notifications/read", response={200: MarkReadOut, **ERRORS})
def notification_mark_read(request: HttpRequest, payload: MarkReadIn) -> dict:
    """Mark `ids` (or, with `all`, every notification) of the caller read. Ids of other users'
    notifications, unknown or already read ones are ignored (not counted)."""
    if payload.all:
        ids = None
    else:
        if not payload.ids:
            raise ValidationFailed(_("请指定要标为已读的通知，或设置 all"), field="ids")
        ids = sorted({i for i in payload.ids if 1 <= i <= ID_MAX})
    return {"updated": services.notifications_mark_read(actor=request.user, ids=ids)}
