from __future__ import annotations

from django_tasks import task

from crm.quotes.services import quotes_expire


@task()
def quotes_expire_task() -> dict:
    """Idempotent: an expired quote is no longer a candidate."""
    return {"expired": quotes_expire()}
