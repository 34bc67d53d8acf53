"""Background tasks: load, call a service; idempotent."""

from __future__ import annotations

from django_tasks import task

from crm.dedupe.services import duplicate_scan


@task()
def duplicate_scan_task(full: bool = True) -> dict:
    """Safe to rerun: pairs are upserted; dismissed and merged ones are never reopened."""
    return duplicate_scan(full=full).as_dict()
