from __future__ import annotations

from django_tasks import task

from crm.customers.services import completeness_recompute_all, pool_apply_rules


@task()
def completeness_recompute_task() -> int:
    return completeness_recompute_all()


@task()
def pool_apply_rules_task() -> dict:
    """Idempotent: customers already in the pool are not candidates again."""
    result = pool_apply_rules()
    return {"released": len(result.released)}
