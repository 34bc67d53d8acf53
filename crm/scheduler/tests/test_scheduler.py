"""The scheduler: each due slot is enqueued exactly once; missed slots are not run late."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.audit.models import AuditEntry
from crm.scheduler import registry
from crm.scheduler.models import JobRun
from crm.scheduler.registry import PeriodicJob, job_get
from crm.scheduler.services import GRACE, scheduler_tick

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0, tz=SH) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=tz)


class FakeTask:
    """Stands in for a django_tasks Task: counts enqueues, may fail."""

    def __init__(self, fail: bool = False):
        self.calls = 0
        self.fail = fail

    def enqueue(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError("queue unavailable")
        return type("Result", (), {"id": f"task-{self.calls}"})()


@pytest.fixture
def only_audit_job(monkeypatch, settings):
    """Just the built-in nightly audit job (other apps' jobs are theirs to test)."""
    settings.TIME_ZONE = "Asia/Shanghai"
    monkeypatch.setattr(registry, "_JOBS", {"audit_verify": job_get("audit_verify")})


@pytest.fixture
def fake_jobs(monkeypatch, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    jobs = {
        "every15": PeriodicJob("every15", FakeTask(), interval=dt.timedelta(minutes=15)),
        "nightly": PeriodicJob("nightly", FakeTask(), at=dt.time(2, 30)),
    }
    monkeypatch.setattr(registry, "_JOBS", dict(jobs))
    return jobs


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (at(2, 3, 0), at(2, 2, 30)),
        (at(2, 2, 30), at(2, 2, 30)),  # exactly on the slot
        (at(2, 2, 29), at(1, 2, 30)),  # a minute early: yesterday's slot
        (at(2, 0, 5), at(1, 2, 30)),
        (at(2, 23, 59), at(2, 2, 30)),
        # 18:30 UTC is 02:30 the next day in Shanghai
        (dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC), at(2, 2, 30)),
        (dt.datetime(2026, 3, 1, 18, 29, tzinfo=dt.UTC), at(1, 2, 30)),
    ],
)
def test_daily_slot_in_shanghai(settings, now, slot):
    settings.TIME_ZONE = "Asia/Shanghai"
    job = PeriodicJob("x", FakeTask(), at=dt.time(2, 30))
    assert job.last_slot(now) == slot


def test_interval_slots_are_aligned():
    job = PeriodicJob("x", FakeTask(), interval=dt.timedelta(minutes=15))
    assert job.last_slot(at(2, 10, 14)) == at(2, 10, 0)
    assert job.last_slot(at(2, 10, 15)) == at(2, 10, 15)
    assert job.last_slot(at(2, 10, 29, tz=dt.UTC)) == at(2, 10, 15, tz=dt.UTC)


@pytest.mark.django_db
def test_audit_verify_is_enqueued_once_per_slot_and_writes_its_verdict(only_audit_job):
    assert scheduler_tick(now=at(2, 2, 31)) == ["audit_verify"]
    run = JobRun.objects.get()
    assert run.job == "audit_verify"
    assert run.slot == at(2, 2, 30)
    assert run.task_id
    verdict = AuditEntry.objects.get(action="verify")
    assert verdict.changes["ok"] is True
    assert verdict.actor_name == "system"
    # Repeated ticks in the same slot (and a second scheduler) enqueue nothing.
    assert scheduler_tick(now=at(2, 2, 31)) == []
    assert scheduler_tick(now=at(2, 2, 45)) == []
    assert scheduler_tick(now=at(2, 8, 0)) == []
    assert JobRun.objects.count() == 1
    assert AuditEntry.objects.filter(action="verify").count() == 1
    # The next night runs again, and its verdict covers the first one.
    assert scheduler_tick(now=at(3, 2, 30)) == ["audit_verify"]
    assert JobRun.objects.count() == 2
    latest = AuditEntry.objects.filter(action="verify").order_by("-seq").first()
    assert latest.changes == {"ok": True, "checked": 1, "problems": []}


@pytest.mark.django_db
def test_missed_slot_beyond_grace_is_skipped(only_audit_job):
    late = at(2, 2, 30) + GRACE + dt.timedelta(minutes=1)
    assert scheduler_tick(now=late) == []
    assert not JobRun.objects.exists()
    assert not AuditEntry.objects.filter(action="verify").exists()
    # Right at the edge of the grace period it still runs.
    assert scheduler_tick(now=at(2, 2, 30) + GRACE) == ["audit_verify"]


@pytest.mark.django_db
def test_several_jobs_each_once(fake_jobs):
    every15, nightly = fake_jobs["every15"].task, fake_jobs["nightly"].task
    assert sorted(scheduler_tick(now=at(2, 2, 31))) == ["every15", "nightly"]
    assert scheduler_tick(now=at(2, 2, 40)) == []
    assert scheduler_tick(now=at(2, 2, 45)) == ["every15"]
    assert (every15.calls, nightly.calls) == (2, 1)
    assert set(JobRun.objects.values_list("task_id", flat=True)) == {"task-1", "task-2"}


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others_and_is_retried(fake_jobs):
    fake_jobs["nightly"].task.fail = True
    assert scheduler_tick(now=at(2, 2, 31)) == ["every15"]
    assert not JobRun.objects.filter(job="nightly").exists()
    fake_jobs["nightly"].task.fail = False
    assert scheduler_tick(now=at(2, 2, 32)) == ["nightly"]
    assert JobRun.objects.filter(job="nightly").count() == 1


@pytest.mark.django_db
def test_naive_now_is_local_time(fake_jobs):
    assert "nightly" in scheduler_tick(now=dt.datetime(2026, 3, 2, 2, 31))
    assert JobRun.objects.get(job="nightly").slot == at(2, 2, 30)


def test_builtin_job_is_registered():
    job = job_get("audit_verify")
    assert job.at == dt.time(2, 30)
    assert job.interval is None
