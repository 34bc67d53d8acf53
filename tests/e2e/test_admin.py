"""Administration journeys at desktop width: users, departments, roles with their grants and
field rules, and the audit log; then a user with the new role sees what the rules allow."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from crm.access.tests.factories import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    # whitenoise notes that STATIC_ROOT was never collected; tests serve from the finders.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NEW_PASSWORD = "Qiao-Hua-2026!"


def _log_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _admin_menu(page: Any, item: str) -> None:
    """系统管理 → item, from the main navigation."""
    nav = page.get_by_role("navigation", name="主导航")
    nav.get_by_role("button", name="系统管理").click()
    nav.get_by_role("link", name=item, exact=True).click()


def _admin_tab(page: Any, item: str) -> None:
    """The tabs across the top of every administration page."""
    tabs = page.get_by_role("navigation", name="系统管理")
    tabs.get_by_role("link", name=item, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=item)).to_be_visible()


def _status(page: Any) -> Any:
    """The flash message after a save."""
    return page.get_by_role("main").get_by_role("alert").first


def _dept_option(dept: Any) -> str:
    from crm.access.forms import department_label

    return department_label(dept)


def _user_option(user: Any) -> str:
    from crm.access.forms import user_label

    return user_label(user)


def test_admin_manages_users(desktop_page: Any, e2e_org: Any, live_server: Any, shot) -> None:
    page = desktop_page
    page.goto(live_server.url + "/login/")
    _log_in(page, e2e_org.admin.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text(e2e_org.admin.name)

    _admin_menu(page, "用户")
    expect(page.get_by_role("heading", level=1, name="用户")).to_be_visible()
    page.get_by_role("link", name="新建用户").first.click()
    expect(page.get_by_role("heading", level=1, name="新建用户")).to_be_visible()
    page.get_by_label("用户名").fill("qiao.hua")
    page.get_by_label("姓名").fill("乔华")
    page.get_by_label("部门").select_option(label=_dept_option(e2e_org.east))
    page.get_by_label("直属上级").select_option(label=_user_option(e2e_org.li_na))
    page.get_by_role("group", name="角色").get_by_label("销售代表").check()
    shot(page, "1-new-user")
    page.get_by_role("button", name="创建用户").click()

    expect(_status(page)).to_contain_text("已创建用户「乔华」")
    row = page.get_by_role("row").filter(has_text="qiao.hua")
    expect(row).to_contain_text("乔华")
    expect(row).to_contain_text("华东销售部")
    expect(row).to_contain_text(e2e_org.li_na.name)
    expect(row).to_contain_text("销售代表")
    expect(row).to_contain_text("在职")
    shot(page, "2-user-list")

    # Deactivate on the edit page …
    row.get_by_role("link", name="编辑 乔华").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("编辑用户：乔华")
    page.get_by_label("启用（可以登录）").uncheck()
    page.get_by_role("button", name="保存", exact=True).click()
    row = page.get_by_role("row").filter(has_text="qiao.hua")
    expect(row).to_contain_text("已停用")
    shot(page, "3-deactivated")
    # … and bring the user back from the list.
    row.get_by_role("button", name="启用 乔华").click()
    expect(_status(page)).to_contain_text("已重新启用「乔华」")
    expect(page.get_by_role("row").filter(has_text="qiao.hua")).to_contain_text("在职")

    # The audit log has the creation, and the filters narrow it down.
    _admin_tab(page, "审计日志")
    results = page.get_by_role("table")
    page.get_by_label("对象").select_option(label="用户")
    page.get_by_label("动作").select_option(label="新建")
    expect(page).to_have_url(re.compile(r"(?=.*entity=user)(?=.*action=create)"))
    created = results.get_by_role("row").filter(has_text="乔华")
    expect(created).to_have_count(1)
    expect(created).to_contain_text("新建")
    expect(created).to_contain_text(e2e_org.admin.username)
    shot(page, "4-audit-created")
    page.get_by_label("动作").select_option(label="修改")
    expect(page).to_have_url(re.compile(r"(?=.*entity=user)(?=.*action=update)"))
    changes = results.get_by_role("row").filter(has_text="乔华")
    # Deactivated, then reactivated: two changes of the active flag, old → new.
    expect(changes).to_have_count(2)
    expect(changes.first).to_contain_text("→")
    shot(page, "5-audit-updates")


def test_role_with_field_rules_masks_mobile(
    desktop_page: Any, e2e_org: Any, live_server: Any, sign_in, shot
) -> None:
    from crm.access.services import user_create
    from crm.customers.services import customer_create

    page = desktop_page
    east_customer = customer_create(
        actor=e2e_org.zhang_wei,
        data={"name": "南京紫金山软件有限公司"},
        contacts=[{"name": "赵立新", "mobile": "13812345678"}],
    )
    south_customer = customer_create(
        actor=e2e_org.wang_fang,
        data={"name": "广州珠江电器有限公司"},
        contacts=[{"name": "黄志明", "mobile": "13922223333"}],
    )
    # A new colleague, created without a password: the administrator will set one.
    clerk = user_create(
        actor=e2e_org.admin,
        username="qiao.hua",
        display_name="乔华",
        department=e2e_org.east,
        manager=e2e_org.li_na,
        roles=[e2e_org.roles["sales_rep"]],
    )
    sign_in(page, e2e_org.admin)
    page.goto(live_server.url + "/")

    # 部门: a sub-department under 华东销售部 appears in the tree right below its parent.
    _admin_menu(page, "部门")
    expect(page.get_by_role("heading", level=1, name="部门")).to_be_visible()
    page.get_by_role("link", name="新建下级 华东销售部").click()
    expect(page.get_by_label("上级部门")).to_have_value(str(e2e_org.east.pk))
    page.get_by_label("部门名称").fill("华东大客户组")
    page.get_by_role("button", name="创建部门").click()
    expect(_status(page)).to_contain_text("已创建部门「华东大客户组」")
    names = page.get_by_role("row").get_by_role("link", name=re.compile(r"^华东"))
    expect(names).to_have_text(["华东销售部", "华东大客户组"])
    shot(page, "1-department-tree")

    # 角色与权限: a new role lands on its grants matrix.
    _admin_tab(page, "角色与权限")
    page.get_by_role("link", name="新建角色").first.click()
    page.get_by_label("名称").fill("华东客户查询")
    page.get_by_label("代码").fill("east_viewer")
    page.get_by_role("button", name="创建角色").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据权限：华东客户查询")
    for entity in ("客户", "联系人"):
        page.get_by_label(f"{entity}：查看").check()
        page.get_by_label(f"{entity}：可见范围").select_option(label="本部门")
    shot(page, "2-grants")
    page.get_by_role("button", name="保存授权").click()
    expect(_status(page)).to_contain_text("已保存「华东客户查询」的授权")
    expect(page.get_by_label("客户：查看")).to_be_checked()
    expect(page.get_by_label("客户：可见范围")).to_have_value("department")

    page.get_by_role("link", name="字段权限").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("字段权限：华东客户查询")
    contact_rules = page.get_by_role("group", name="联系人")
    contact_rules.get_by_label("手机").select_option(label="脱敏")
    shot(page, "3-field-rules")
    page.get_by_role("button", name="保存字段权限").click()
    expect(_status(page)).to_contain_text("已保存「华东客户查询」的字段权限")
    expect(page.get_by_role("group", name="联系人").get_by_label("手机")).to_have_value("masked")

    # The colleague gets the role instead of 销售代表, and a first password.
    _admin_tab(page, "用户")
    page.get_by_role("link", name="编辑 乔华").click()
    roles = page.get_by_role("group", name="角色")
    roles.get_by_label("销售代表").uncheck()
    roles.get_by_label("华东客户查询").check()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="qiao.hua")).to_contain_text("华东客户查询")
    page.get_by_role("link", name="编辑 乔华").click()
    page.get_by_role("link", name="重置密码").click()
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="设置新密码").click()
    expect(_status(page)).to_contain_text("已为「乔华」设置新密码")

    page.get_by_role("link", name="用户菜单").click()
    page.get_by_role("button", name="退出登录").click()
    _log_in(page, clerk.username, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("乔华")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="客户").click()
    expect(page.get_by_role("heading", level=1, name="客户")).to_be_visible()
    # 本部门: 华东's customer, not 华南's; its contact's mobile masked, the number nowhere.
    row = page.get_by_role("row").filter(has_text=east_customer.name)
    expect(row).to_contain_text("赵立新")
    expect(row).to_contain_text("138****5678")
    expect(page.get_by_text(south_customer.name)).to_have_count(0)
    expect(page.get_by_role("main")).not_to_contain_text("13812345678")
    expect(page.get_by_role("main")).not_to_contain_text("138 1234 5678")
    shot(page, "4-masked-list")
    row.get_by_role("link", name=east_customer.name).click()
    contacts = page.get_by_role("region", name=re.compile("^联系人"))
    expect(contacts).to_contain_text("138****5678")
    expect(page.get_by_role("link", name=re.compile("拨打"))).to_have_count(0)
    shot(page, "5-masked-360")
