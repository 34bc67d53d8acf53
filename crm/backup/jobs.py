from __future__ import annotations

import datetime as dt

from crm.backup.tasks import backup_scheduled_task
from crm.scheduler.registry import PeriodicJob, job_register

# The time of day is an administrator's setting (backup page): the job looks every ten
# minutes whether the day's backup is due.
job_register(
    PeriodicJob(
        name="backup_daily",
        task=backup_scheduled_task,
        interval=dt.timedelta(minutes=10),
        description="每日自动备份（时间、保留份数和目录在「备份与恢复」页设置）",
    )
)
