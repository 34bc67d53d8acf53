from __future__ import annotations

import datetime as dt

from crm.customers.tasks import pool_apply_rules_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="customers_pool_rules",
        task=pool_apply_rules_task,
        at=dt.time(1, 0),
        description="每晚按公海规则把超期未跟进/未成交的客户退回公海",
    )
)
