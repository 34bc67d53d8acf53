from __future__ import annotations

import datetime as dt

from crm.quotes.tasks import quotes_expire_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="quotes_expire",
        task=quotes_expire_task,
        at=dt.time(0, 30),
        description="每晚把已过有效期、仍为“已发送”的报价单标记为“已过期”",
    )
)
