"""Notifications: creation, deduplication, channel choice, reading."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.core.errors import NotFound, ValidationFailed
from crm.notifications.models import Delivery, DeliveryStatus, Notification
from crm.notifications.selectors import (
    delivery_problems,
    notification_get,
    notification_list,
    notification_unread_count,
    preferences,
)
from crm.notifications.services import (
    notifications_mark_read,
    notify,
    preferences_set,
    robot_save,
    user_channels,
)


def test_notify_in_app_only_by_default(org):
    n = notify(user=org.zhang_wei, kind="system", title="欢迎使用", url="/customers/")
    assert n is not None
    assert not n.deliveries.exists()
    assert notification_unread_count(actor=org.zhang_wei) == 1
    assert [x.pk for x in notification_list(actor=org.zhang_wei).items] == [n.pk]


def test_email_preference_creates_a_delivery(org):
    preferences_set(actor=org.zhang_wei, prefs={"task_overdue": ["inapp", "email"]})
    now = timezone.now()
    n = notify(user=org.zhang_wei, kind="task_overdue", title="待办已逾期", now=now)
    assert n is not None
    [d] = n.deliveries.all()
    assert (d.channel, d.target, d.status, d.attempts) == (
        "email",
        org.zhang_wei.email,
        DeliveryStatus.PENDING,
        0,
    )
    assert d.next_attempt_at == now
    prefs, quiet = preferences(actor=org.zhang_wei)
    assert prefs == {"task_overdue": ["email"]} and quiet is not None


def test_default_channels_and_opting_out(org):
    # no_follow_up mails by default …
    assert user_channels(org.zhang_wei, "no_follow_up") == ["email"]
    # … unless the user chose in-app only.
    preferences_set(actor=org.zhang_wei, prefs={"no_follow_up": ["inapp"]})
    assert user_channels(org.zhang_wei, "no_follow_up") == []
    n = notify(user=org.zhang_wei, kind="no_follow_up", title="未跟进")
    assert n is not None and not n.deliveries.exists()


def test_no_email_address_or_no_robot_means_no_delivery(org):
    org.zhang_wei.email = ""
    org.zhang_wei.save()
    preferences_set(actor=org.zhang_wei, prefs={"system": ["email", "wecom", "dingtalk"]})
    n = notify(user=org.zhang_wei, kind="system", title="只在站内")
    assert n is not None and not Delivery.objects.exists()


def test_dedupe_key_notifies_once_per_user(org):
    first = notify(user=org.zhang_wei, kind="system", title="一次", dedupe_key="k:1")
    again = notify(user=org.zhang_wei, kind="system", title="一次", dedupe_key="k:1")
    other = notify(user=org.li_na, kind="system", title="一次", dedupe_key="k:1")
    assert first is not None and again is None and other is not None
    assert Notification.objects.filter(dedupe_key="k:1").count() == 2


def test_inactive_user_gets_nothing(org):
    org.zhang_wei.is_active = False
    org.zhang_wei.save()
    assert notify(user=org.zhang_wei, kind="system", title="x") is None
    assert notify(user=None, kind="system", title="x") is None


def test_mark_read_own_only(org):
    a = notify(user=org.zhang_wei, kind="system", title="A")
    b = notify(user=org.zhang_wei, kind="system", title="B")
    other = notify(user=org.li_na, kind="system", title="C")
    assert a and b and other
    assert notifications_mark_read(actor=org.zhang_wei, ids=[a.pk, other.pk]) == 1
    assert notification_unread_count(actor=org.zhang_wei) == 1
    assert notification_unread_count(actor=org.li_na) == 1
    assert [n.pk for n in notification_list(actor=org.zhang_wei, unread=True).items] == [b.pk]
    assert notifications_mark_read(actor=org.zhang_wei) == 1
    assert notification_unread_count(actor=org.zhang_wei) == 0
    with pytest.raises(NotFound):
        notification_get(actor=org.zhang_wei, notification_id=other.pk)


def test_deferred_notification_hidden_until_due(org):
    later = timezone.now() + dt.timedelta(hours=2)
    n = notify(user=org.zhang_wei, kind="system", title="稍后", deliver_after=later)
    assert n is not None and n.deliver_after == later
    assert notification_unread_count(actor=org.zhang_wei) == 0
    # A deliver_after in the past means now.
    now = timezone.now()
    m = notify(
        user=org.zhang_wei,
        kind="system",
        title="立即",
        deliver_after=now - dt.timedelta(days=1),
        now=now,
    )
    assert m is not None and m.deliver_after == now


def test_preferences_validation(org):
    with pytest.raises(ValidationFailed):
        preferences_set(actor=org.zhang_wei, prefs={"no_such_kind": ["email"]})
    with pytest.raises(ValidationFailed):
        preferences_set(actor=org.zhang_wei, prefs={"system": ["fax"]})


def test_administration_is_for_admins(org):
    with pytest.raises(NotFound):
        delivery_problems(actor=org.li_na)
    assert delivery_problems(actor=org.admin) == []
    with pytest.raises(NotFound):
        robot_save(
            actor=org.li_na,
            department=org.east,
            provider="wecom",
            name="华东群",
            url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
        )
    with pytest.raises(ValidationFailed) as exc:
        robot_save(actor=org.admin, department=org.east, provider="wecom", name="x", url="ftp://x")
    assert exc.value.field == "url"
    robot = robot_save(
        actor=org.admin,
        department=org.east,
        provider="dingtalk",
        name="华东群",
        url="https://oapi.dingtalk.com/robot/send?access_token=x",
        secret="SECabc",
    )
    # Saving again without a secret keeps the stored one.
    robot = robot_save(
        actor=org.admin,
        department=org.east,
        provider="dingtalk",
        name="华东销售群",
        url=robot.url,
        robot=robot,
    )
    robot.refresh_from_db()
    assert robot.secret == "SECabc" and robot.name == "华东销售群"
