from __future__ import annotations

from django_tasks import task

from crm.notifications.services import deliveries_dispatch


@task()
def deliveries_dispatch_task() -> int:
    """Idempotent: only pending/failed deliveries whose time has come are tried."""
    return deliveries_dispatch()
