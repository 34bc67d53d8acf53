from __future__ import annotations

import datetime as dt

from crm.exports.tasks import exports_prune_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="exports_prune",
        task=exports_prune_task,
        at=dt.time(3, 40),
        description="删除 7 天前的导出文件",
    )
)
