"""`crm demo` step: follow-up history, tasks and talk scripts for the demo customers.

Everything goes through the services (`followup_create` with a time in the past,
`task_create`, `talkscript_save`), so the customers' last/next follow-up dates, the timeline
and the audit trail are what real use would produce. The history is spread over the last
60 days and keeps the dates the customers step planned: many customers have not been
followed up for more than 7 days and some planned follow-ups are already overdue, so
`crm rules run` has something to remind about. Skipped when follow-ups already exist.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.access.models import User
from crm.demo import demo_step_register

SEED = 20260415
HISTORY_DAYS = 60

KINDS = [("call", 40), ("visit", 18), ("wechat", 20), ("meeting", 8), ("email", 10), ("note", 4)]

PRODUCTS = [
    "自动化装配线",
    "视觉检测设备",
    "工业机器人工作站",
    "智能仓储系统",
    "数控加工中心",
    "设备远程运维平台",
]
NEEDS = ["产线自动化改造", "新厂房设备采购", "老设备更新换代", "质检环节自动化", "明年扩产"]
ISSUES = ["备件供应周期偏长", "希望增加操作培训", "需要升级控制软件", "夜班设备报警较多"]

CONTENT: dict[str, list[str]] = {
    "call": [
        "与{contact}电话沟通，对方确认今年有{need}的计划，预算还在内部审批。",
        "给{contact}打电话了解设备使用情况，反馈运行稳定，提到{issue}。",
        "电话回访{contact}，报价已转给采购部门，对方希望单价再降 3% 左右。",
        "{contact}来电咨询{product}的交期，已答复标准交期 4 周，加急可 3 周。",
        "电话联系{contact}，对方这周在外地出差，约好下周再详细沟通。",
    ],
    "visit": [
        "上门拜访{contact}，参观了生产车间，了解到{need}的需求，对方对我们的方案比较感兴趣。",
        "和技术支持一起拜访客户，给{contact}做了{product}的现场演示，对方提出需要对接 MES。",
        "拜访{contact}，沟通年度框架协议，对方希望账期由 30 天延长到 60 天。",
        "到客户现场处理{issue}的问题，{contact}对响应速度表示满意，顺带聊了二期项目。",
    ],
    "meeting": [
        "与{contact}及其采购、技术负责人开会评审方案，确认了主要技术参数，下一步出正式报价。",
        "线上会议演示{product}，{contact}提出需要两家同行业客户的参考案例。",
    ],
    "wechat": [
        "微信发送了{product}的产品资料和案例视频，{contact}回复会转给技术总监评估。",
        "{contact}微信反馈样品测试通过，询问批量订货的价格梯度。",
        "微信问候{contact}，顺便了解{need}的进展，对方说下个月启动招标。",
    ],
    "email": [
        "邮件发送正式报价单（含运费和安装调试），抄送{contact}所在的采购部。",
        "邮件回复{contact}关于质保条款的问题：整机质保一年，核心部件两年。",
    ],
    "note": [
        "客户内部组织架构调整，现由{contact}负责该项目，原对接人已离职。",
        "了解到竞争对手报价比我们低约 8%，需要突出本地化售后服务的优势。",
    ],
}

NEXT_ACTIONS = [
    "发送正式报价单",
    "安排技术交流会",
    "寄送样品",
    "邀请客户参观样板工厂",
    "跟进报价审批进度",
    "提供同行业参考案例",
    "约见采购负责人",
    "准备合同草稿",
    "安排售后工程师上门",
    "确认付款方式和账期",
]

TASKS = [
    "整理客户需求清单",
    "准备技术方案",
    "提交报价审批",
    "回访确认样品测试结果",
    "安排合同评审",
    "催收首付款",
    "更新客户联系人信息",
]

TALK_SCRIPTS = [
    (
        "开场白",
        "电话",
        "您好，我是华信智能装备的{我的名字}。我们专门做制造企业的产线自动化，"
        "最近帮{同行业客户}把装配效率提升了 30%。想花两分钟了解一下贵公司今年在"
        "设备升级方面有没有计划？",
    ),
    (
        "报价跟进",
        "跟进",
        "您好，上周发给您的报价单不知道您这边看过了没有？如果对配置或价格有疑问，"
        "我可以安排技术同事一起跟您过一下方案。另外本月签约可以赠送一年的远程运维服务。",
    ),
    (
        "节日问候",
        "问候",
        "节日快乐！感谢您一直以来对华信智能的信任和支持。祝您和家人节日愉快、万事顺意！"
        "节后如有设备方面的需要，随时联系我。",
    ),
    (
        "催款提醒",
        "回款",
        "您好，贵司第二期款项按合同约定应于本月底前支付，麻烦帮忙确认一下财务的付款安排，"
        "如需我方提供发票或其他资料请告诉我。",
    ),
]


def _talk_scripts(admin: User) -> int:
    from crm.activities.models import TalkScript
    from crm.activities.services import talkscript_save

    existing = set(TalkScript.objects.values_list("title", flat=True))
    made = 0
    for title, category, body in TALK_SCRIPTS:
        if title not in existing:
            talkscript_save(actor=admin, title=title, body=body, category=category)
            made += 1
    return made


def _pick(rng: random.Random, items: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _w in items], weights=[w for _k, w in items])[0]


def _history(
    rng: random.Random, latest: dt.datetime, oldest: dt.datetime, count: int
) -> list[dt.datetime]:
    """`count` follow-up times ending at `latest`, a few days apart, none before `oldest`."""
    times = [latest]
    for _i in range(count - 1):
        earlier = times[-1] - dt.timedelta(days=rng.randint(4, 14))
        if earlier < oldest:
            break
        times.append(earlier)
    out = []
    for moment in times:
        at = _working_hour(rng, moment)
        if at > latest:  # office hours later that day than allowed: the day before
            at -= dt.timedelta(days=1)
        out.append(at)
    return sorted(out)


def _working_hour(rng: random.Random, moment: dt.datetime) -> dt.datetime:
    local = timezone.localtime(moment)
    return local.replace(
        hour=rng.randint(9, 17), minute=rng.choice([0, 15, 30, 45]), second=0, microsecond=0
    )


@transaction.atomic
def demo_activities(users: dict[str, User]) -> str:
    from crm.activities.models import FollowUp
    from crm.activities.services import followup_create, task_create, task_set_done
    from crm.customers.models import Contact, Customer

    admin = users.get("admin")
    if admin is None:
        return "follow-ups: no admin user, skipped"
    scripts = _talk_scripts(admin)
    if FollowUp.all_objects.exists():
        return f"demo follow-ups: already there, skipped ({scripts} talk scripts added)"

    rng = random.Random(SEED)  # noqa: S311  (demo data: repeatable, not secret)
    now = timezone.now()
    oldest = now - dt.timedelta(days=HISTORY_DAYS)
    customers = list(
        Customer.objects.filter(owner__isnull=False, owner__is_active=True)
        .exclude(status="new")
        .select_related("owner")
        .order_by("pk")
    )
    contacts: dict[int, list[Any]] = {}
    for contact in Contact.objects.filter(customer__in=customers).order_by("pk"):
        contacts.setdefault(contact.customer_id, []).append(contact)

    followups = tasks = touched = 0
    for customer in customers:
        last = customer.last_follow_up_at
        if last is None:
            continue  # never followed up: stays that way (the rules remind about it)
        latest = min(max(last, oldest + dt.timedelta(days=1)), now - dt.timedelta(hours=1))
        count = rng.choices([1, 2, 3, 4], weights=[25, 35, 25, 15])[0]
        planned = customer.next_follow_up_at
        if planned is not None:
            planned = _working_hour(rng, planned)
        times = _history(rng, latest, oldest, count)
        # The customers step chose rough follow-up dates; the history below writes the real ones.
        Customer.objects.filter(pk=customer.pk).update(
            last_follow_up_at=None, next_follow_up_at=None
        )
        touched += 1
        for i, at in enumerate(times):
            is_latest = i == len(times) - 1
            kind = _pick(rng, KINDS)
            people = contacts.get(customer.pk) or []
            contact = rng.choice(people) if people and rng.random() < 0.8 else None
            who = f"{contact.name}{contact.title}" if contact else "对方"
            content = rng.choice(CONTENT[kind]).format(
                contact=who,
                product=rng.choice(PRODUCTS),
                need=rng.choice(NEEDS),
                issue=rng.choice(ISSUES),
            )
            next_action = rng.choice(NEXT_ACTIONS) if rng.random() < 0.75 else ""
            if is_latest:
                # Keep the date the customers step planned (overdue ones included).
                next_at = planned if planned and planned > at else None
                if next_at is None and next_action:
                    next_at = _working_hour(rng, at + dt.timedelta(days=rng.randint(3, 10)))
            else:
                next_at = _working_hour(rng, at + dt.timedelta(days=rng.randint(3, 10)))
            if next_at is not None and next_at <= at:
                next_at = None
            followup_create(
                actor=customer.owner,
                customer=customer,
                kind=kind,
                content=content,
                at=at,
                contact=contact,
                next_action=next_action,
                next_follow_up_at=next_at,
                location=(customer.address or f"{customer.province}{customer.city}")[:200]
                if kind == "visit"
                else "",
                create_task=is_latest and bool(next_action) and rng.random() < 0.3,
            )
            followups += 1
        tasks += customer.tasks.count()

    # Hand-made tasks: some open, some overdue, some done; a manager assigns a few too.
    sample = rng.sample(customers, min(40, len(customers)))
    for n, customer in enumerate(sample):
        owner = customer.owner
        assert owner is not None
        actor = owner.manager if n % 5 == 0 and owner.manager and owner.manager.is_active else owner
        due = _working_hour(rng, now + dt.timedelta(days=rng.randint(-12, 14)))
        task = task_create(
            actor=actor,
            title=rng.choice(TASKS),
            assignee=owner,
            due_at=due,
            customer=customer,
            notes="" if rng.random() < 0.6 else f"客户：{customer.name}",
        )
        if due < now and rng.random() < 0.5:
            task_set_done(actor=owner, task=task)
        tasks += 1
    return (
        f"demo follow-ups: {followups} follow-ups on {touched} customers, {tasks} tasks, "
        f"{scripts} talk scripts"
    )


demo_step_register(30, "activities", demo_activities)
