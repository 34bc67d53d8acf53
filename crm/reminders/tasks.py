from __future__ import annotations

from django_tasks import task

from crm.reminders.services import rules_run


@task()
def rules_run_task() -> dict:
    """Idempotent: each condition occurrence is notified once, however often this runs."""
    return {r.rule: r.new for r in rules_run()}
