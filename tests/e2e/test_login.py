"""The login journey, at desktop and at phone width: what a new user does first."""

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


def _log_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _open_user_menu(page: Any) -> None:
    page.get_by_role("link", name="用户菜单").click()


def test_login_wrong_then_right_password(page: Any, e2e_org: Any, live_server: Any, shot) -> None:
    user = e2e_org.zhang_wei
    # A protected page sends an anonymous visitor to the login form.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="登录您的账号")).to_be_visible()
    shot(page, "1-login")

    _log_in(page, user.username, "wrong-password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("用户名或密码不正确")
    # The typed username is kept so the user only retypes the password.
    expect(page.get_by_label("用户名")).to_have_value(user.username)
    shot(page, "2-wrong-password")

    _log_in(page, user.username, PASSWORD)
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.name)
    shot(page, "3-home")


def test_navigation_and_logout(page: Any, e2e_org: Any, live_server: Any, shot) -> None:
    from crm.core.navigation import NavGroup, nav_menu

    user = e2e_org.li_na
    page.goto(live_server.url + "/login/")
    _log_in(page, user.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.name)

    nav = page.get_by_role("navigation", name="主导航")
    if page.crm_device == "phone":
        # At phone width the menu is folded behind the hamburger button.
        expect(nav.get_by_role("link", name="首页")).to_be_hidden()
        page.get_by_role("button", name="菜单").click()
        # Wait for the collapse animation to finish before judging (and photographing) it.
        expect(page.locator("#navbar-menu")).to_have_class(re.compile(r"\bshow\b"))
    expect(nav.get_by_role("link", name="首页")).to_be_visible()
    # Every main-menu entry the server offers this user is reachable at this width: directly
    # or one tap away in its group's dropdown (销售, 数据).
    for entry in nav_menu(user):
        if isinstance(entry, NavGroup):
            toggle = nav.get_by_role("button", name=str(entry.label), exact=True)
            toggle.click()
            for item in entry.items:
                link = nav.get_by_role("link", name=str(item.label), exact=True)
                expect(link).to_be_visible()
            toggle.click()
        else:
            expect(nav.get_by_role("link", name=str(entry.label), exact=True)).to_be_visible()
    shot(page, "1-menu")
    # The organisation page is one tap away and lists the user among its members.
    nav.get_by_role("link", name="组织架构").click()
    expect(page.get_by_role("heading", level=1, name="组织架构")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=user.username)).to_be_visible()
    shot(page, "2-org")

    _open_user_menu(page)
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    shot(page, "3-logged-out")
    # The session is really gone: home sends us back to the login form.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_language_switch_to_english(page: Any, e2e_org: Any, live_server: Any, shot) -> None:
    user = e2e_org.wang_fang
    page.goto(live_server.url + "/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-CN")
    _log_in(page, user.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.name)

    _open_user_menu(page)
    page.get_by_label("语言").select_option("en")
    # The select submits itself (crm.js); the page comes back in English on the same URL.
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(live_server.url + "/")
    shot(page, "1-english")

    # The choice sticks (cookie) across pages.
    page.reload()
    expect(html).to_have_attribute("lang", "en")


def test_language_switch_on_login_page(
    phone_page: Any, live_server: Any, transactional_db: None, shot
) -> None:
    # Before logging in, a visitor can already choose English, and go back.
    page = phone_page
    page.goto(live_server.url + "/login/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "1-english")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
