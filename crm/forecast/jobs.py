from __future__ import annotations

import datetime as dt

from crm.forecast.tasks import forecast_summary_check_task
from crm.scheduler.registry import PeriodicJob, job_register

job_register(
    PeriodicJob(
        name="forecast_summary_check",
        task=forecast_summary_check_task,
        at=dt.time(3, 30),
        description="每晚核对销售预测汇总表与商机数据，不一致时重建",
    )
)
