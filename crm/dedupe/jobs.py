from __future__ import annotations

import datetime as dt

from crm.dedupe.tasks import duplicate_scan_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="dedupe_scan",
        task=duplicate_scan_task,
        at=dt.time(2, 30),
        description="每晚扫描全部客户，把疑似重复的客户对放入待处理队列",
    )
)
