from __future__ import annotations

import datetime as dt

from crm.notifications.tasks import deliveries_dispatch_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="notifications_dispatch",
        task=deliveries_dispatch_task,
        interval=dt.timedelta(minutes=1),
        description="每分钟发送到期的邮件/企业微信/钉钉通知，失败的按退避重试",
    )
)
