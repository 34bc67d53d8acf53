"""`crm demo` step: assignment rules by region, a web form, and ~40 leads in every status.

The rules are the ones the issue names: 上海、江苏、浙江、安徽 → 华东销售部; 广东、广西、
福建、海南 → 华南销售部; 北京、天津、河北 → 华北销售部; round-robin within the department.
Leads arrive through `lead_create` as the web form or the marketing clerk would send them,
so the rules assign them and the log says which rule did; leads from other provinces land
in the pool. The owners then work them through the services (contacted, qualified,
disqualified with a reason, a few converted). Dates are spread over the last 30 days.
Skipped when leads already exist.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.access.models import Department, User
from crm.demo import demo_step_register

SEED = 20260501

RULES = [
    ("华东：上海、江苏、浙江、安徽", ["上海", "江苏", "浙江", "安徽"], "华东销售部"),
    ("华南：广东、广西、福建、海南", ["广东", "广西", "福建", "海南"], "华南销售部"),
    ("华北：北京、天津、河北", ["北京", "天津", "河北"], "华北销售部"),
]

# (person, title, company, province, city, industry)
LEADS = [
    ("陈建华", "设备部经理", "上海申浦精密机械有限公司", "上海", "上海", "机械制造"),
    ("刘晓燕", "采购主管", "苏州工业园区恒瑞电子有限公司", "江苏省", "苏州", "电子元器件"),
    ("王立新", "生产总监", "无锡锡能动力科技有限公司", "江苏", "无锡", "新能源"),
    ("赵敏杰", "总经理", "杭州云帆智能包装有限公司", "浙江", "杭州", "包装"),
    ("孙海波", "技术负责人", "宁波北仑汽配制造有限公司", "浙江省", "宁波", "汽车零部件"),
    ("周丽", "行政采购", "合肥科大讯达信息技术有限公司", "安徽", "合肥", "软件"),
    ("吴国强", "厂长", "芜湖长江精工机械有限公司", "安徽省", "芜湖", "机械制造"),
    ("郑雪", "项目经理", "上海临港新材料科技有限公司", "上海市", "上海", "新材料"),
    ("冯志远", "设备工程师", "常州武进光伏科技有限公司", "", "常州", "新能源"),
    ("何静", "采购经理", "嘉兴秀洲纺织机械有限公司", "浙江", "嘉兴", "纺织"),
    ("许文斌", "副总经理", "南京江宁医疗器械有限公司", "江苏", "南京", "医疗器械"),
    ("马骏", "工艺主管", "温州瓯海阀门有限公司", "浙江", "温州", "阀门"),
    ("黄志明", "设备科长", "深圳宝安精密模具有限公司", "广东省", "深圳", "模具"),
    ("林晓峰", "总经理助理", "广州番禺智能家居有限公司", "广东", "广州", "家电"),
    ("梁美玲", "采购专员", "佛山顺德电器配件厂", "广东", "佛山", "家电"),
    ("陈伟东", "生产经理", "东莞长安五金制品有限公司", "广东", "东莞", "五金"),
    ("蔡志强", "技术总监", "厦门海沧新能源科技有限公司", "福建", "厦门", "新能源"),
    ("翁丽华", "项目负责人", "福州马尾船舶配件有限公司", "福建省", "福州", "船舶"),
    ("韦华", "设备主管", "南宁高新区糖业机械有限公司", "广西壮族自治区", "南宁", "食品机械"),
    ("覃海燕", "采购经理", "柳州汽车零部件配套有限公司", "广西", "柳州", "汽车零部件"),
    ("符永康", "总经理", "海口美兰热带食品有限公司", "海南", "海口", "食品"),
    ("邓子豪", "生产副总", "珠海横琴智能装备有限公司", "广东", "珠海", "装备制造"),
    ("张国栋", "设备部部长", "北京亦庄精密仪器有限公司", "北京市", "北京", "仪器仪表"),
    ("李婷", "采购主管", "北京中关村智造科技有限公司", "北京", "北京", "软件"),
    ("王海涛", "厂长", "天津滨海新区装备制造有限公司", "天津", "天津", "装备制造"),
    ("刘洪", "技术经理", "石家庄高新区制药设备有限公司", "河北省", "石家庄", "制药"),
    ("高峰", "总工程师", "唐山曹妃甸钢构有限公司", "河北", "唐山", "钢结构"),
    ("杨帆", "生产经理", "保定长城汽车配件有限公司", "河北", "保定", "汽车零部件"),
    ("罗建", "采购经理", "成都高新区电子科技有限公司", "四川", "成都", "电子元器件"),
    ("胡晓东", "设备主管", "武汉光谷激光设备有限公司", "湖北", "武汉", "激光"),
    ("曹磊", "总经理", "西安航天动力配套有限公司", "陕西", "西安", "航空航天"),
    ("彭丽", "项目经理", "长沙星沙工程机械配件有限公司", "湖南", "长沙", "工程机械"),
    ("谢东", "技术负责人", "重庆两江汽车电子有限公司", "重庆", "重庆", "汽车电子"),
    ("袁芳", "采购主管", "郑州航空港智能终端有限公司", "河南", "郑州", "电子制造"),
    ("蒋涛", "设备经理", "上海松江机器人应用有限公司", "上海", "上海", "机器人"),
    ("沈佳", "市场经理", "绍兴柯桥印染设备有限公司", "浙江", "绍兴", "纺织"),
    ("钟伟", "厂长", "惠州大亚湾石化设备有限公司", "广东", "惠州", "石化"),
    ("卢敏", "采购经理", "泉州晋江鞋业机械有限公司", "福建", "泉州", "鞋服"),
    ("田野", "设备主管", "廊坊开发区物流装备有限公司", "河北", "廊坊", "物流装备"),
    ("白雪", "总经理助理", "昆明呈贡生物医药有限公司", "云南", "昆明", "生物医药"),
]
PREFIXES = ["138", "139", "136", "186", "158", "177", "135", "189"]
SOURCES = ["官网表单", "官网表单", "展会", "电话咨询", "广告投放", "客户介绍"]
NOTES = [
    "想了解自动化产线改造方案，预算在审批中。",
    "展会上留的名片，对视觉检测设备感兴趣。",
    "老设备需要更新，希望年底前完成采购。",
    "询问设备远程运维平台的价格和交付周期。",
    "新厂房明年投产，需要整体设备规划。",
]
CONTACT_NOTES = [
    "电话沟通了需求，约了下周上门拜访。",
    "已发送产品资料和案例，对方会转给技术部评估。",
    "微信加了好友，对方希望先看报价区间。",
]
DISQUALIFY = ["联系不上", "没有需求", "预算不足", "同行或骚扰信息"]


def _ago(now: dt.datetime, rng: random.Random, max_days: int) -> dt.datetime:
    return now - dt.timedelta(days=rng.randint(0, max_days), hours=rng.randint(0, 9))


def _backdate(lead: Any, at: dt.datetime) -> None:
    """Leads arrive over the last month: move the lead and its first history entries back."""
    from crm.leads.models import Lead, LeadAssignment, LeadEvent

    Lead.all_objects.filter(pk=lead.pk).update(
        created_at=at, assigned_at=at if lead.owner_id else None
    )
    LeadEvent.objects.filter(lead=lead).update(at=at)
    LeadAssignment.objects.filter(lead=lead).update(at=at + dt.timedelta(seconds=1))
    lead.created_at = at
    lead.assigned_at = at if lead.owner_id else None


def _rules(users: dict[str, User]) -> int:
    from crm.leads.models import AssignmentRule, RuleMatch, RuleStrategy

    made = 0
    for i, (name, provinces, dept_name) in enumerate(RULES):
        if AssignmentRule.objects.filter(name=name).exists():
            continue
        dept = Department.objects.filter(name=dept_name).first()
        if dept is None:
            continue
        AssignmentRule.objects.create(
            name=name,
            order=(i + 1) * 10,
            match=RuleMatch.REGION,
            values=provinces,
            strategy=RuleStrategy.ROUND_ROBIN,
            department=dept,
        )
        made += 1
    return made


def _capture_form() -> Any:
    from crm.leads.models import CaptureForm

    form = CaptureForm.objects.filter(name="官网咨询表单").first()
    if form is None:
        form = CaptureForm.objects.create(
            name="官网咨询表单",
            key="demo-website-form",
            source="官网表单",
            thank_you="感谢您的咨询！我们的销售顾问会在一个工作日内与您联系。",
            fields=["company", "title", "province", "city", "notes"],
        )
    return form


def _work(lead: Any, rng: random.Random, now: dt.datetime, i: int) -> str:
    """What the owner did with the lead since: returns the final status."""
    from crm.core.errors import DomainError
    from crm.leads.models import LeadEvent
    from crm.leads.services import lead_convert, lead_note_add, lead_status_change

    owner = lead.owner
    roll = i % 10
    if roll in (0, 1, 2):
        return "new"
    start = lead.created_at
    lead_status_change(actor=owner, lead=lead, status="contacted")
    lead_note_add(actor=owner, lead=lead, text=rng.choice(CONTACT_NOTES))
    step = start + dt.timedelta(hours=rng.randint(2, 30))
    LeadEvent.objects.filter(lead=lead).exclude(kind="created").update(at=min(step, now))
    if roll in (3, 4, 5):
        return "contacted"
    if roll == 6:
        lead_status_change(
            actor=owner, lead=lead, status="disqualified", reason=rng.choice(DISQUALIFY)
        )
        return "disqualified"
    lead_status_change(actor=owner, lead=lead, status="qualified")
    if roll in (7, 8):
        return "qualified"
    try:
        with transaction.atomic():
            lead.refresh_from_db()
            lead_convert(actor=owner, lead=lead)
    except DomainError:
        return "qualified"
    return "converted"


@transaction.atomic
def demo_leads(users: dict[str, User]) -> str:
    from django.db.models import F

    from crm.leads.models import CaptureForm, Lead
    from crm.leads.services import lead_create

    rules = _rules(users)
    form = _capture_form()
    if Lead.all_objects.exists():
        return f"leads: {rules} rules added, leads already present"
    rng = random.Random(SEED)  # noqa: S311  (demo data: repeatable, not secret)
    now = timezone.now()
    marketing = users.get("zhao.min")
    statuses: dict[str, int] = {}
    pool = submitted = 0
    # Arrival times over the last 30 days, oldest first (the list is newest first by id).
    arrivals = sorted(_ago(now, rng, 30) for _ in LEADS)
    for i, (person, title, company, province, city, industry) in enumerate(LEADS):
        source = SOURCES[i % len(SOURCES)]
        data = {
            "name": person,
            "title": title,
            "company": company,
            "province": province,
            "city": city,
            "industry": industry,
            "source": source,
            "mobile": PREFIXES[i % len(PREFIXES)] + f"{(i * 7919 + 1031) * 7 % 10**8:08d}",
            "email": f"lead{i + 1}@example.cn" if i % 3 == 0 else "",
            "notes": NOTES[i % len(NOTES)],
        }
        if source == "官网表单" or marketing is None:
            lead = lead_create(actor=None, data=data, system=True, source_form=form)
            submitted += 1
        else:
            lead = lead_create(actor=marketing, data=data, auto_assign=True)
        _backdate(lead, arrivals[i])
        if lead.owner_id is None:
            pool += 1
            continue
        status = _work(lead, rng, now, i)
        statuses[status] = statuses.get(status, 0) + 1
    CaptureForm.objects.filter(pk=form.pk).update(submissions=F("submissions") + submitted)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    return f"leads: {len(LEADS)} leads ({summary}, pool {pool}), {rules} rules, form {form.key}"


demo_step_register(35, "leads", demo_leads)
