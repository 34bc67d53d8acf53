"""Built-in periodic jobs."""

from __future__ import annotations

import datetime as dt

from crm.audit.tasks import audit_verify_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="audit_verify",
        task=audit_verify_task,
        at=dt.time(2, 30),
        description="每晚校验审计日志哈希链，结果写入审计日志",
    )
)
