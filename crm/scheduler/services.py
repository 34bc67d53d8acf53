"""The scheduler loop's one step, separate from the loop so tests can drive it with any clock."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.scheduler.models import JobRun
from crm.scheduler.registry import job_list

log = logging.getLogger("crm.scheduler")

# A slot missed by more than this (the scheduler was down) is not run late.
GRACE = dt.timedelta(hours=6)


def scheduler_tick(*, now: dt.datetime | None = None) -> list[str]:
    """Enqueue every job whose latest slot has not been enqueued yet; returns their names.

    One job failing to enqueue (a database hiccup, a broken task) neither stops the others
    nor the scheduler: its JobRun is rolled back with it, so the next tick tries again.
    """
    now = now or timezone.now()
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    enqueued: list[str] = []
    for job in job_list():
        slot = job.last_slot(now)
        if now - slot > GRACE:
            continue
        try:
            with transaction.atomic():
                run = JobRun.objects.create(job=job.name, slot=slot)
                result = job.task.enqueue()
                run.task_id = str(getattr(result, "id", ""))[:64]
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # this slot was already enqueued (by us earlier, or another scheduler)
        except Exception:
            log.exception("could not enqueue %s for slot %s", job.name, slot.isoformat())
            continue
        log.info("enqueued %s for slot %s", job.name, slot.isoformat())
        enqueued.append(job.name)
    return enqueued
