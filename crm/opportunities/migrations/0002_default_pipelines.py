"""The default pipelines 新客户 and 续约 with their stages: the first run of the product has them.

Idempotent by name: a pipeline an administrator already created (or renamed stages of) is
left alone; the stages are only added to a pipeline this migration creates.
"""

from django.db import migrations

# (name, kind, probability, time limit in days, required fields, checklist)
NEW_CUSTOMER = [
    ("初步接洽", "open", 10, 14, [], ["确认客户联系人和采购意向"]),
    ("需求确认", "open", 20, 21, ["expected_close_date"], ["了解预算与决策流程", "确认关键需求"]),
    ("方案报价", "open", 40, 21, ["amount", "contacts"], ["方案已提交客户"]),
    ("商务谈判", "open", 60, 14, ["amount", "expected_close_date"], ["价格与付款条件已确认"]),
    ("合同签订", "open", 80, 14, ["amount", "expected_close_date", "contacts"], []),
    ("赢单", "won", 100, None, ["amount"], []),
    ("输单", "lost", 0, None, [], []),
]
RENEWAL = [
    ("续约提醒", "open", 30, 30, [], ["确认合同到期日"]),
    ("续约洽谈", "open", 60, 21, ["amount", "expected_close_date"], ["续约报价已提交"]),
    ("续约签订", "open", 90, 14, ["amount", "expected_close_date"], []),
    ("赢单", "won", 100, None, ["amount"], []),
    ("输单", "lost", 0, None, [], []),
]
PIPELINES = [
    ("新客户", "首次合作的客户：从接洽到签约", True, 10, NEW_CUSTOMER),
    ("续约", "老客户续约与增购", False, 20, RENEWAL),
]


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("opportunities", "Pipeline")
    Stage = apps.get_model("opportunities", "Stage")
    has_default = Pipeline.objects.filter(is_default=True).exists()
    for name, description, is_default, order, stages in PIPELINES:
        if Pipeline.objects.filter(name=name).exists():
            continue
        pipeline = Pipeline.objects.create(
            name=name,
            description=description,
            is_default=is_default and not has_default,
            order=order,
        )
        for i, (stage, kind, probability, limit, required, checklist) in enumerate(stages):
            Stage.objects.create(
                pipeline=pipeline,
                name=stage,
                order=(i + 1) * 10,
                kind=kind,
                probability=probability,
                time_limit_days=limit,
                required_fields=required,
                checklist=checklist,
            )


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
