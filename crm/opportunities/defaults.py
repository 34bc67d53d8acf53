"""The default pipelines a new installation starts with (新客户, 续约).

The data migration 0002 creates them on the first `migrate`; `pipelines_ensure()` puts them
back when the table is empty (a flushed test database, a restore of an empty backup), so the
product never runs without a pipeline. An administrator's pipelines are never touched.
"""

from __future__ import annotations

from typing import Any

# (name, kind, probability, time limit in days, required fields, checklist)
NEW_CUSTOMER: list[tuple[str, str, int, int | None, list[str], list[str]]] = [
    ("初步接洽", "open", 10, 14, [], ["确认客户联系人和采购意向"]),
    ("需求确认", "open", 20, 21, ["expected_close_date"], ["了解预算与决策流程", "确认关键需求"]),
    ("方案报价", "open", 40, 21, ["amount", "contacts"], ["方案已提交客户"]),
    ("商务谈判", "open", 60, 14, ["amount", "expected_close_date"], ["价格与付款条件已确认"]),
    ("合同签订", "open", 80, 14, ["amount", "expected_close_date", "contacts"], []),
    ("赢单", "won", 100, None, ["amount"], []),
    ("输单", "lost", 0, None, [], []),
]
RENEWAL: list[tuple[str, str, int, int | None, list[str], list[str]]] = [
    ("续约提醒", "open", 30, 30, [], ["确认合同到期日"]),
    ("续约洽谈", "open", 60, 21, ["amount", "expected_close_date"], ["续约报价已提交"]),
    ("续约签订", "open", 90, 14, ["amount", "expected_close_date"], []),
    ("赢单", "won", 100, None, ["amount"], []),
    ("输单", "lost", 0, None, [], []),
]
PIPELINES: list[tuple[str, str, bool, int, list[Any]]] = [
    ("新客户", "首次合作的客户：从接洽到签约", True, 10, NEW_CUSTOMER),
    ("续约", "老客户续约与增购", False, 20, RENEWAL),
]


def pipelines_create(pipeline_model: Any, stage_model: Any) -> int:
    """Create the default pipelines missing by name; returns how many were created.
    Takes the models so the data migration can pass its historical ones."""
    has_default = pipeline_model.objects.filter(is_default=True).exists()
    made = 0
    for name, description, is_default, order, stages in PIPELINES:
        if pipeline_model.objects.filter(name=name).exists():
            continue
        pipeline = pipeline_model.objects.create(
            name=name,
            description=description,
            is_default=is_default and not has_default,
            order=order,
        )
        for i, (stage, kind, probability, limit, required, checklist) in enumerate(stages):
            stage_model.objects.create(
                pipeline=pipeline,
                name=stage,
                order=(i + 1) * 10,
                kind=kind,
                probability=probability,
                time_limit_days=limit,
                required_fields=required,
                checklist=checklist,
            )
        made += 1
    return made
