"""Periodic jobs. Each app registers its jobs; the scheduler enqueues each due slot once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task
    # Either every `interval`, aligned to the epoch, or daily at `at` (local time).
    interval: dt.timedelta | None = None
    at: dt.time | None = None
    description: str = ""

    def last_slot(self, now: dt.datetime) -> dt.datetime:
        """The most recent slot at or before `now`."""
        if self.interval is not None:
            step = int(self.interval.total_seconds())
            ts = int(now.timestamp()) // step * step
            return dt.datetime.fromtimestamp(ts, tz=dt.UTC)
        assert self.at is not None
        local = timezone.localtime(now)
        slot = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        if slot > local:
            slot -= dt.timedelta(days=1)
        return slot


_JOBS: dict[str, PeriodicJob] = {}


def job_register(job: PeriodicJob) -> PeriodicJob:
    _JOBS[job.name] = job
    return job


def job_list() -> list[PeriodicJob]:
    return list(_JOBS.values())


def job_get(name: str) -> PeriodicJob:
    return _JOBS[name]


Clock = Callable[[], dt.datetime]
