"""E-mail deliveries against a real local SMTP server (aiosmtpd), and retries when it is down."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings
from django.utils import timezone

from crm.core.errors import NotFound
from crm.notifications.models import Delivery, DeliveryStatus
from crm.notifications.selectors import delivery_problems
from crm.notifications.services import (
    MAX_ATTEMPTS,
    deliveries_dispatch,
    delivery_retry,
    notify,
    preferences_set,
)


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_settings(port: int) -> override_settings:
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
        DEFAULT_FROM_EMAIL="crm@huaxin.example",
        SITE_URL="https://crm.huaxin.example",
    )


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _mail_notification(org, now):
    preferences_set(actor=org.zhang_wei, prefs={"task_overdue": ["email"]})
    n = notify(
        user=org.zhang_wei,
        kind="task_overdue",
        title="待办「给客户发送报价单」已逾期",
        body="截止时间：2027-01-08 15:00",
        url="/my-day/",
        now=now,
    )
    assert n is not None
    return n


def test_email_arrives_through_real_smtp(org, smtp):
    handler, port = smtp
    now = timezone.now()
    n = _mail_notification(org, now)
    with smtp_settings(port):
        assert deliveries_dispatch(now=now) == 1
        # Running the job again sends nothing twice.
        assert deliveries_dispatch(now=now + dt.timedelta(minutes=1)) == 0
    [env] = handler.envelopes
    assert env.mail_from == "crm@huaxin.example"
    assert env.rcpt_tos == [org.zhang_wei.email]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    # (Django folds a long encoded subject onto a continuation line: strip the fold.)
    assert str(msg["Subject"]).strip() == "待办「给客户发送报价单」已逾期"
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    body = part.get_content()
    assert "截止时间：2027-01-08 15:00" in body
    assert "https://crm.huaxin.example/my-day/" in body
    d = Delivery.objects.get(notification=n)
    assert (d.status, d.attempts, d.sent_at, d.last_error) == (DeliveryStatus.SENT, 1, now, "")


def test_smtp_down_backs_off_then_gives_up_and_retry_resets(org):
    port = free_port()  # nothing listens there
    now = timezone.now()
    n = _mail_notification(org, now)
    d = Delivery.objects.get(notification=n)
    with smtp_settings(port):
        deliveries_dispatch(now=now)
        d.refresh_from_db()
        assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
        assert d.next_attempt_at == now + dt.timedelta(minutes=1)
        assert d.last_error  # e.g. ConnectionRefusedError: …
        # Not yet due: no attempt.
        deliveries_dispatch(now=now + dt.timedelta(seconds=30))
        d.refresh_from_db()
        assert d.attempts == 1

        when = d.next_attempt_at
        for attempt in range(2, MAX_ATTEMPTS):
            deliveries_dispatch(now=when)
            d.refresh_from_db()
            assert (d.status, d.attempts) == (DeliveryStatus.FAILED, attempt)
            assert d.next_attempt_at == when + dt.timedelta(minutes=2 ** (attempt - 1))
            when = d.next_attempt_at
        deliveries_dispatch(now=when)
        d.refresh_from_db()
        assert (d.status, d.attempts) == (DeliveryStatus.GAVE_UP, MAX_ATTEMPTS)
        # Given up: the job leaves it alone.
        deliveries_dispatch(now=when + dt.timedelta(days=1))
        d.refresh_from_db()
        assert d.attempts == MAX_ATTEMPTS

    assert [x.pk for x in delivery_problems(actor=org.admin)] == [d.pk]
    with pytest.raises(NotFound):
        delivery_retry(actor=org.zhang_wei, delivery_id=d.pk)

    d = delivery_retry(actor=org.admin, delivery_id=d.pk)
    assert d.status == DeliveryStatus.PENDING and d.next_attempt_at <= timezone.now()

    # The server is back: the retried delivery goes out.
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtp_settings(port):
            assert deliveries_dispatch() == 1
    finally:
        controller.stop()
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SENT and len(handler.envelopes) == 1
    assert delivery_problems(actor=org.admin) == []
