"""The working calendar: reminders found at night or on a holiday are delivered at the start
of the next working period instead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from crm.core.config import setting_default, setting_get

CALENDAR = "reminders.calendar"
setting_default(
    CALENDAR,
    {
        "work_start": "09:00",
        "work_end": "18:30",
        "weekend_off": True,
        "holidays": [],  # ["2027-01-01", "2027-02-16", ...]
        "workdays": [],  # weekend days that are working days (调休), e.g. "2027-02-07"
    },
)


def calendar_settings() -> dict[str, Any]:
    return dict(setting_get(CALENDAR))


def _time(text: str, default: dt.time) -> dt.time:
    try:
        return dt.time.fromisoformat(str(text))
    except ValueError:
        return default


def is_working_day(day: dt.date, cal: dict[str, Any] | None = None) -> bool:
    cal = cal or calendar_settings()
    iso = day.isoformat()
    if iso in set(cal.get("workdays") or []):
        return True
    if iso in set(cal.get("holidays") or []):
        return False
    return not (cal.get("weekend_off", True) and day.weekday() >= 5)


def next_working_moment(now: dt.datetime, cal: dict[str, Any] | None = None) -> dt.datetime:
    """`now` if it is working time, else the start of the next working period."""
    cal = cal or calendar_settings()
    start = _time(cal.get("work_start", "09:00"), dt.time(9, 0))
    end = _time(cal.get("work_end", "18:30"), dt.time(18, 30))
    local = timezone.localtime(now)
    if is_working_day(local.date(), cal) and start <= local.time() < end:
        return now
    day = local.date()
    if local.time() >= start:
        day += dt.timedelta(days=1)
    for _i in range(366):
        if is_working_day(day, cal):
            break
        day += dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, start), timezone.get_current_timezone())
