from __future__ import annotations

from typing import Any

from django.utils import timezone

from crm.access.visibility import is_admin
from crm.core.errors import NotFound
from crm.core.pagination import Page, paginate
from crm.notifications.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    Preference,
    QuietHours,
    Robot,
)


def notification_list(
    *, actor: Any, unread: bool = False, cursor: str | None = None, limit: int = 30
) -> Page:
    """The actor's own notifications that are due (deferred ones appear when their time comes)."""
    qs = Notification.objects.filter(user=actor, deliver_after__lte=timezone.now())
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return paginate(qs, ordering=("-deliver_after", "-id"), cursor=cursor, limit=limit)


def notification_unread_count(*, actor: Any) -> int:
    return Notification.objects.filter(
        user=actor, read_at__isnull=True, deliver_after__lte=timezone.now()
    ).count()


def notification_get(*, actor: Any, notification_id: Any) -> Notification:
    n = Notification.objects.filter(user=actor, pk=notification_id).first()
    if n is None:
        raise NotFound()
    return n


def preferences(*, actor: Any) -> tuple[dict[str, list[str]], QuietHours | None]:
    prefs = {p.kind: list(p.channels) for p in Preference.objects.filter(user=actor)}
    return prefs, QuietHours.objects.filter(user=actor).first()


def delivery_problems(*, actor: Any, limit: int = 200) -> list[Delivery]:
    """Failed deliveries, for administrators."""
    if not is_admin(actor):
        raise NotFound()
    return list(
        Delivery.objects.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.GAVE_UP])
        .select_related("notification", "notification__user")
        .order_by("-id")[:limit]
    )


def robot_list(*, actor: Any) -> list[Robot]:
    if not is_admin(actor):
        raise NotFound()
    return list(Robot.objects.select_related("department"))


def robot_get(*, actor: Any, robot_id: Any) -> Robot:
    if not is_admin(actor):
        raise NotFound()
    robot = Robot.objects.filter(pk=robot_id).first()
    if robot is None:
        raise NotFound()
    return robot
