from __future__ import annotations

import datetime as dt

from crm.reminders.tasks import rules_run_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="reminder_rules",
        task=rules_run_task,
        interval=dt.timedelta(minutes=15),
        description="每 15 分钟运行提醒规则（每个情况只提醒一次，非工作时间顺延）",
    )
)
