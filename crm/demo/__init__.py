"""`crm demo`: the demo organisation (and, as apps arrive, their demo records).

Idempotent: running it again finds what exists by natural keys and adds only what is missing.
Domain apps add their demo data with `demo_step_register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from crm.access.defaults import roles_ensure
from crm.access.models import Department, Role, User


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    department: str | None
    role: str
    manager: str | None = None
    title: str = ""


COMPANY = "华信智能装备有限公司"

# (name, parent)
DEPARTMENTS: list[tuple[str, str | None]] = [
    (COMPANY, None),
    ("销售中心", COMPANY),
    ("华东销售部", "销售中心"),
    ("华南销售部", "销售中心"),
    ("华北销售部", "销售中心"),
    ("市场部", COMPANY),
    ("客服部", COMPANY),
    ("财务部", COMPANY),
]

USERS: list[DemoUser] = [
    DemoUser("admin", "系统管理员", COMPANY, "admin", title="管理员"),
    DemoUser("sun.hao", "孙浩", "销售中心", "sales_manager", title="销售总监"),
    DemoUser("li.na", "李娜", "华东销售部", "sales_manager", "sun.hao", "华东销售经理"),
    DemoUser("zhang.wei", "张伟", "华东销售部", "sales_rep", "li.na", "华东销售代表"),
    DemoUser("wu.lei", "吴磊", "华东销售部", "sales_rep", "li.na", "华东销售代表"),
    DemoUser("huang.qiang", "黄强", "华南销售部", "sales_manager", "sun.hao", "华南销售经理"),
    DemoUser("wang.fang", "王芳", "华南销售部", "sales_rep", "huang.qiang", "华南销售代表"),
    DemoUser("zhou.jie", "周杰", "华南销售部", "sales_rep", "huang.qiang", "华南销售代表"),
    DemoUser("ma.li", "马丽", "华北销售部", "sales_manager", "sun.hao", "华北销售经理"),
    DemoUser("gao.yang", "高阳", "华北销售部", "sales_rep", "ma.li", "华北销售代表"),
    DemoUser("zhao.min", "赵敏", "市场部", "marketing", None, "市场专员"),
    DemoUser("chen.jing", "陈静", "客服部", "service", None, "客服专员"),
    DemoUser("liu.yang", "刘洋", "财务部", "finance", None, "财务专员"),
]

DemoStep = Callable[[dict[str, User]], str]
_STEPS: list[tuple[int, str, DemoStep]] = []


def demo_step_register(order: int, name: str, step: DemoStep) -> None:
    """Apps add their demo records; each step is idempotent and gets the demo users by name."""
    if all(n != name for _o, n, _s in _STEPS):
        _STEPS.append((order, name, step))


def _mobile(i: int) -> str:
    return f"139{(i * 7919) % 10**8:08d}"


@transaction.atomic
def demo_organisation() -> dict[str, User]:
    roles: dict[str, Role] = roles_ensure()
    depts: dict[str, Department] = {}
    for name, parent in DEPARTMENTS:
        parent_dept = depts.get(parent) if parent else None
        dept, _created = Department.objects.get_or_create(name=name, parent=parent_dept)
        depts[name] = dept
    users: dict[str, User] = {}
    for i, spec in enumerate(USERS):
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(
                username=spec.username,
                display_name=spec.display_name,
                email=f"{spec.username}@demo.crm.local",
                mobile=_mobile(i + 1),
                department=depts.get(spec.department) if spec.department else None,
            )
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
            user.roles.set([roles[spec.role]])
        users[spec.username] = user
    for spec in USERS:
        if spec.manager and users[spec.username].manager_id is None:
            User.objects.filter(pk=users[spec.username].pk).update(manager=users[spec.manager])
    # Each sales department's manager is its head.
    for spec in USERS:
        if spec.role == "sales_manager" and spec.department:
            Department.objects.filter(name=spec.department, manager__isnull=True).update(
                manager=users[spec.username]
            )
    return users


def demo_load() -> str:
    users = demo_organisation()
    lines = [f"demo organisation: {len(DEPARTMENTS)} departments, {len(USERS)} users"]
    for _order, _name, step in sorted(_STEPS, key=lambda s: s[0]):
        lines.append(step(users))
    return "\n".join(lines)


def demo_logins_table() -> str:
    password = settings.DEMO_PASSWORD
    rows = [f"{'用户名':<14}{'姓名':<8}{'部门 / 角色'}"]
    for spec in USERS:
        rows.append(
            f"{spec.username:<16}{spec.display_name:<8}{spec.department or ''} · {spec.title}"
        )
    rows.append(f"\n所有演示账号的密码 / password for all demo users: {password}")
    rows.append("(set CRM_DEMO_PASSWORD before `crm demo` to choose another)")
    return "\n".join(rows)
