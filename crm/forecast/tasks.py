from __future__ import annotations

from django_tasks import task

from crm.forecast.services import forecast_summary_check


@task()
def forecast_summary_check_task() -> int:
    """Idempotent: compares the forecast summary with the opportunities, rebuilds on drift."""
    return forecast_summary_check()
