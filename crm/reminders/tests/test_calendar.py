"""The working calendar and quiet hours: reminders found off-hours are deferred, not lost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.core.config import setting_set
from crm.core.errors import ValidationFailed
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.notifications.models import Notification
from crm.notifications.selectors import notification_list, notification_unread_count
from crm.notifications.services import notifications_mark_read, notify, preferences_set
from crm.reminders.calendar import CALENDAR, is_working_day, next_working_moment
from crm.reminders.services import rules_run

CAL = {
    "work_start": "09:00",
    "work_end": "18:30",
    "weekend_off": True,
    "holidays": ["2027-01-01", "2027-02-08", "2027-02-09"],
    "workdays": ["2027-02-06"],  # a Saturday made a working day (调休)
}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    naive = dt.datetime(year, month, day, hour, minute)
    return timezone.make_aware(naive, timezone.get_current_timezone())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # working time: unchanged
        ((2027, 1, 7, 10, 0), (2027, 1, 7, 10, 0)),
        # early morning: the same morning
        ((2027, 1, 7, 6, 30), (2027, 1, 7, 9, 0)),
        # evening (from work_end on) and night: the next morning
        ((2027, 1, 7, 18, 30), (2027, 1, 8, 9, 0)),
        ((2027, 1, 7, 23, 0), (2027, 1, 8, 9, 0)),
        # Friday night and the weekend: Monday morning
        ((2027, 1, 8, 23, 0), (2027, 1, 11, 9, 0)),
        ((2027, 1, 9, 11, 0), (2027, 1, 11, 9, 0)),
        # the eve of a holiday (New Year's Day, a Friday): after the weekend
        ((2026, 12, 31, 20, 0), (2027, 1, 4, 9, 0)),
        ((2027, 1, 1, 10, 0), (2027, 1, 4, 9, 0)),
        # 调休: Saturday 2027-02-06 is a working day; Mon/Tue 8-9 are holidays
        ((2027, 2, 5, 19, 0), (2027, 2, 6, 9, 0)),
        ((2027, 2, 6, 10, 0), (2027, 2, 6, 10, 0)),
        ((2027, 2, 6, 19, 0), (2027, 2, 10, 9, 0)),
    ],
)
def test_next_working_moment(now, expected):
    assert next_working_moment(local(*now), CAL) == local(*expected)


def test_is_working_day():
    assert is_working_day(dt.date(2027, 2, 6), CAL)  # adjusted Saturday
    assert not is_working_day(dt.date(2027, 2, 8), CAL)  # holiday Monday
    assert not is_working_day(dt.date(2027, 2, 7), CAL)  # plain Sunday
    assert is_working_day(dt.date(2027, 2, 7), {**CAL, "weekend_off": False})


def test_calendar_from_settings(db):
    setting_set(actor=None, key=CALENDAR, value={**CAL, "work_start": "08:30"})
    assert next_working_moment(local(2027, 1, 7, 23, 0)) == local(2027, 1, 8, 8, 30)
    assert next_working_moment(local(2027, 2, 8, 12, 0)) == local(2027, 2, 10, 8, 30)


def _idle_a_customer(org) -> Customer:
    c = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "上海中科创智能装备有限公司", "level": "A"}
    )
    long_ago = local(2026, 1, 1, 9, 0)
    Customer.objects.filter(pk=c.pk).update(created_at=long_ago, owned_since=long_ago)
    return c


def test_rule_run_at_night_is_deferred_to_next_working_morning(org):
    _idle_a_customer(org)
    night = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(
        hour=23, minute=0, second=0, microsecond=0
    )
    morning = next_working_moment(night)
    assert morning > night and timezone.localtime(morning).hour == 9

    [r] = rules_run(now=night, keys=["no_follow_up"])
    assert r.deferred_to == morning and r.notified == 2
    notes = list(Notification.objects.filter(kind="no_follow_up"))
    assert {n.deliver_after for n in notes} == {morning}
    assert {n.created_at for n in notes} == {night}

    # Not shown (bell, list) nor markable before the morning.
    assert notification_unread_count(actor=org.zhang_wei) == 0
    assert notification_list(actor=org.zhang_wei).items == []
    assert notifications_mark_read(actor=org.zhang_wei) == 0

    # The morning comes.
    Notification.objects.filter(kind="no_follow_up").update(
        deliver_after=timezone.now() - dt.timedelta(seconds=1)
    )
    assert notification_unread_count(actor=org.zhang_wei) == 1
    assert notification_unread_count(actor=org.li_na) == 1
    assert notifications_mark_read(actor=org.zhang_wei) == 1
    assert notification_unread_count(actor=org.zhang_wei) == 0


def test_rule_run_on_a_past_night_is_visible_the_next_morning(org):
    _idle_a_customer(org)
    night = timezone.localtime(timezone.now() - dt.timedelta(days=10)).replace(
        hour=23, minute=0, second=0, microsecond=0
    )
    [r] = rules_run(now=night, keys=["no_follow_up"])
    assert r.deferred_to == next_working_moment(night) < timezone.now()
    assert notification_unread_count(actor=org.zhang_wei) == 1


def test_quiet_hours_over_midnight(org):
    preferences_set(
        actor=org.zhang_wei, prefs={}, quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0)
    )
    cases = [
        (local(2027, 1, 7, 22, 0), local(2027, 1, 8, 8, 0)),
        (local(2027, 1, 8, 0, 30), local(2027, 1, 8, 8, 0)),
        (local(2027, 1, 8, 7, 59), local(2027, 1, 8, 8, 0)),
        (local(2027, 1, 8, 8, 0), local(2027, 1, 8, 8, 0)),
        (local(2027, 1, 8, 12, 0), local(2027, 1, 8, 12, 0)),
        (local(2027, 1, 8, 20, 59), local(2027, 1, 8, 20, 59)),
    ]
    for i, (now, expected) in enumerate(cases):
        n = notify(user=org.zhang_wei, kind="system", title=f"通知{i}", now=now)
        assert n is not None
        assert n.deliver_after == expected, (now, n.deliver_after)
    # Someone without quiet hours gets it at once.
    n = notify(user=org.li_na, kind="system", title="无免打扰", now=local(2027, 1, 7, 22, 0))
    assert n is not None and n.deliver_after == local(2027, 1, 7, 22, 0)


def test_quiet_hours_within_the_day_defer_a_rule_reminder(org):
    """A lunch break as quiet hours: the owner's copy waits, the manager's does not."""
    preferences_set(
        actor=org.zhang_wei, prefs={}, quiet_start=dt.time(12, 0), quiet_end=dt.time(13, 30)
    )
    _idle_a_customer(org)
    rules_run(now=local(2027, 1, 8, 12, 15), keys=["no_follow_up"])
    own = Notification.objects.get(user=org.zhang_wei, kind="no_follow_up")
    copy = Notification.objects.get(user=org.li_na, kind="no_follow_up")
    assert own.deliver_after == local(2027, 1, 8, 13, 30)
    assert copy.deliver_after == local(2027, 1, 8, 12, 15)


def test_quiet_hours_need_both_ends(org):
    with pytest.raises(ValidationFailed) as exc:
        preferences_set(actor=org.zhang_wei, prefs={}, quiet_start=dt.time(21, 0))
    assert exc.value.field == "quiet_end"
