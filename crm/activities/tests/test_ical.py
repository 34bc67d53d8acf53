"""The per-user iCalendar feed, and the icalendar library on real-world calendars."""

from __future__ import annotations

import datetime as dt
import glob
import os
import time

import pytest
from django.utils import timezone
from icalendar import Calendar

from crm.activities import services
from crm.activities.selectors import calendar_feed_ics_unscoped
from crm.core.errors import NotFound
from crm.customers import services as customer_services

SAMPLES = sorted(glob.glob("/work/shared/testdata/icalendar__*.ics"))


def test_feed_contains_open_tasks_and_planned_follow_ups(org):
    now = timezone.now().replace(microsecond=0)
    customer = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "厦门云帆网络科技有限公司"}
    )
    due = now + dt.timedelta(days=2)
    task = services.task_create(
        actor=org.zhang_wei, title="发送合同", due_at=due, customer=customer, notes="盖章版"
    )
    done = services.task_create(actor=org.zhang_wei, title="已完成的待办", due_at=due)
    services.task_set_done(actor=org.zhang_wei, task=done)
    services.task_create(actor=org.li_na, title="别人的待办", due_at=due)
    next_at = now + dt.timedelta(days=4)
    services.followup_create(
        actor=org.zhang_wei,
        customer=customer,
        kind="call",
        content="约好下周再沟通",
        next_follow_up_at=next_at,
    )

    feed = services.calendar_feed_get(actor=org.zhang_wei)
    assert services.calendar_feed_get(actor=org.zhang_wei).token == feed.token  # stable
    cal = Calendar.from_ical(calendar_feed_ics_unscoped(feed.token))
    assert str(cal["version"]) == "2.0"
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    ev = events[f"task-{task.pk}@crm"]
    assert str(ev["summary"]) == "发送合同 · 厦门云帆网络科技有限公司"
    assert ev.decoded("dtstart") == due
    assert ev.decoded("dtend") == due + dt.timedelta(minutes=30)
    assert str(ev["description"]) == "盖章版"
    followups = [e for uid, e in events.items() if uid.startswith(f"followup-{customer.pk}-")]
    assert len(followups) == 1
    assert str(followups[0]["summary"]) == "跟进 · 厦门云帆网络科技有限公司"
    assert followups[0].decoded("dtstart") == next_at
    summaries = {str(e["summary"]) for e in events.values()}
    assert "已完成的待办" not in summaries and "别人的待办" not in summaries


def test_regenerate_invalidates_old_token(org):
    old = services.calendar_feed_get(actor=org.zhang_wei).token
    new = services.calendar_feed_get(actor=org.zhang_wei, regenerate=True).token
    assert new != old
    with pytest.raises(NotFound):
        calendar_feed_ics_unscoped(old)
    assert Calendar.from_ical(calendar_feed_ics_unscoped(new))
    with pytest.raises(NotFound):
        calendar_feed_ics_unscoped("")


def test_inactive_user_feed_is_gone(org):
    token = services.calendar_feed_get(actor=org.zhang_wei).token
    org.zhang_wei.is_active = False
    org.zhang_wei.save()
    with pytest.raises(NotFound):
        calendar_feed_ics_unscoped(token)


@pytest.mark.skipif(not SAMPLES, reason="shared icalendar samples not present")
@pytest.mark.parametrize("path", SAMPLES, ids=os.path.basename)
def test_real_world_calendars_parse(path):
    with open(path, "rb") as fh:
        data = fh.read()
    started = time.monotonic()
    if "broken" in path:
        # A malformed content line: icalendar either refuses the calendar or keeps the
        # component and records the error — it must not hang or invent a start time.
        try:
            cal = Calendar.from_ical(data)
        except ValueError:
            pass
        else:
            [event] = cal.walk("VEVENT")
            assert event.errors and "DTSTART" in str(event.errors)
            assert event.get("dtstart") is None
    else:
        cal = Calendar.from_ical(data)
        assert cal.name == "VCALENDAR"
        for event in cal.walk("VEVENT"):
            start = event.decoded("dtstart")
            assert isinstance(start, dt.date)
            assert not event.errors
    assert time.monotonic() - started < 5
