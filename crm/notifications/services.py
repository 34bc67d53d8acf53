"""Creating notifications, delivering them to their channels, reading them."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.errors import NotFound, ValidationFailed
from crm.notifications import channels
from crm.notifications.kinds import kind_get
from crm.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    Preference,
    QuietHours,
    Robot,
    RobotProvider,
)

log = logging.getLogger("crm.notifications")
MAX_ATTEMPTS = 6


def user_channels(user: Any, kind: str) -> list[str]:
    pref = Preference.objects.filter(user=user, kind=kind).first()
    chosen = list(pref.channels) if pref is not None else list(kind_get(kind).default_channels)
    return [c for c in chosen if c in Channel.values and c != Channel.INAPP]


def quiet_until(user: Any, at: dt.datetime) -> dt.datetime:
    """`at`, or the end of the user's quiet hours when `at` falls inside them."""
    quiet = QuietHours.objects.filter(user=user).first()
    if quiet is None or quiet.start is None or quiet.end is None or quiet.start == quiet.end:
        return at
    local = timezone.localtime(at)
    t = local.time()
    if quiet.start < quiet.end:
        inside = quiet.start <= t < quiet.end
    else:  # over midnight, e.g. 21:00–08:00
        inside = t >= quiet.start or t < quiet.end
    if not inside:
        return at
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end


def robot_for(user: Any, provider: str) -> Robot | None:
    """The active robot of the user's department, or of its nearest ancestor."""
    dept = getattr(user, "department", None)
    if dept is None:
        return None
    ids = [int(x) for x in dept.path.strip("/").split("/") if x]
    robots = {
        r.department_id: r
        for r in Robot.objects.filter(department_id__in=ids, provider=provider, is_active=True)
    }
    for dept_id in reversed(ids):
        if dept_id in robots:
            return robots[dept_id]
    return None


@transaction.atomic
def notify(
    *,
    user: Any,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str = "",
    deliver_after: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Notify one user; returns None when this occurrence was already notified."""
    if user is None or not user.is_active:
        return None
    now = now or timezone.now()
    when = quiet_until(user, max(deliver_after or now, now))
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=user,
                kind=kind,
                title=title[:200],
                body=body,
                url=url[:300],
                created_at=now,
                deliver_after=when,
                dedupe_key=dedupe_key[:200],
            )
    except IntegrityError:
        return None
    for channel in user_channels(user, kind):
        target = ""
        if channel == Channel.EMAIL:
            if not user.email or not getattr(settings, "EMAIL_CONFIGURED", False):
                continue
            target = user.email
        else:
            robot = robot_for(
                user, RobotProvider.WECOM if channel == Channel.WECOM else RobotProvider.DINGTALK
            )
            if robot is None:
                continue
            target = str(robot.pk)
        Delivery.objects.create(
            notification=notification, channel=channel, target=target, next_attempt_at=when
        )
    return notification


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL}{url}" if url.startswith("/") else url


def delivery_send(delivery: Delivery, *, now: dt.datetime | None = None) -> Delivery:
    """One attempt; a failure is retried with exponential back-off, then given up."""
    now = now or timezone.now()
    n = delivery.notification
    try:
        if delivery.channel == Channel.EMAIL:
            body = n.body + (f"\n\n{_absolute(n.url)}" if n.url else "")
            channels.send_email(to=delivery.target, subject=n.title, body=body)
        else:
            robot = Robot.objects.filter(pk=int(delivery.target or 0)).first()
            if robot is None or not robot.is_active:
                raise channels.DeliveryError("robot removed or disabled")
            mention = f"@{n.user.name} " if n.user_id else ""
            if robot.provider == RobotProvider.WECOM:
                channels.send_wecom(
                    url=robot.url, title=n.title, body=mention + n.body, link=_absolute(n.url)
                )
            else:
                channels.send_dingtalk(
                    url=robot.url,
                    secret=robot.secret or "",
                    title=n.title,
                    body=mention + n.body,
                    link=_absolute(n.url),
                )
    except channels.DeliveryError as exc:
        delivery.attempts += 1
        delivery.last_error = str(exc)[:2000]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.GAVE_UP
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = now + dt.timedelta(minutes=2 ** (delivery.attempts - 1))
        delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        log.warning("delivery %s failed (%s): %s", delivery.pk, delivery.attempts, exc)
        return delivery
    delivery.attempts += 1
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = now
    delivery.last_error = ""
    delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return delivery


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_dispatch(*, now: dt.datetime | None = None) -> int:
    """Send what is due (the per-minute job). Safe to run twice: a sent delivery is skipped."""
    now = now or timezone.now()
    sent = 0
    for pk in deliveries_due(now=now):
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update()
                .select_related("notification", "notification__user")
                .filter(pk=pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED])
                .first()
            )
            if delivery is None:
                continue
            delivery_send(delivery, now=now)
            sent += delivery.status == DeliveryStatus.SENT
    return sent


@transaction.atomic
def delivery_retry(*, actor: Any, delivery_id: int) -> Delivery:
    """An administrator asks for another attempt of a failed delivery."""
    from crm.access.visibility import is_admin

    if not is_admin(actor):
        raise NotFound()
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    return delivery


def notifications_mark_read(*, actor: Any, ids: list[int] | None = None) -> int:
    """Mark some (or, with ids=None, all) of the actor's notifications read."""
    qs = Notification.objects.filter(
        user=actor, read_at__isnull=True, deliver_after__lte=timezone.now()
    )
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


@transaction.atomic
def preferences_set(
    *, actor: Any, prefs: dict[str, list[str]], quiet_start: Any = None, quiet_end: Any = None
) -> None:
    from crm.notifications.kinds import kind_list

    known = {k.key for k in kind_list()}
    for kind, chosen in prefs.items():
        if kind not in known:
            raise ValidationFailed(_("未知的通知类型"), field=f"prefs.{kind}")
        bad = [c for c in chosen if c not in Channel.values]
        if bad:
            raise ValidationFailed(_("未知的通知渠道"), field=f"prefs.{kind}")
        Preference.objects.update_or_create(
            user=actor, kind=kind, defaults={"channels": [c for c in chosen if c != Channel.INAPP]}
        )
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationFailed(_("免打扰需要同时设置开始和结束时间"), field="quiet_end")
    QuietHours.objects.update_or_create(
        user=actor, defaults={"start": quiet_start, "end": quiet_end}
    )


@transaction.atomic
def robot_save(
    *,
    actor: Any,
    department: Any,
    provider: str,
    name: str,
    url: str,
    secret: str = "",
    robot: Robot | None = None,
    is_active: bool = True,
) -> Robot:
    from crm.access.visibility import is_admin
    from crm.audit.services import audit_record

    if not is_admin(actor):
        raise NotFound()
    if provider not in RobotProvider.values:
        raise ValidationFailed(_("请选择机器人类型"), field="provider")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写名称"), field="name")
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        raise ValidationFailed(_("Webhook 地址应以 https:// 开头"), field="url")
    robot = robot or Robot()
    robot.department = department
    robot.provider = provider
    robot.name = name[:100]
    robot.url = url
    if secret or robot.pk is None:
        robot.secret = secret.strip()
    robot.is_active = is_active
    robot.save()
    audit_record(
        action="config",
        actor=actor,
        entity="robot",
        object_id=robot.pk,
        object_repr=robot.name,
        changes={
            "department": department.pk,
            "provider": provider,
            "name": name,
            "active": is_active,
        },
    )
    return robot
