"""Reminder-rule administration pages: list, edit (params form from the condition's
defaults), preview / run as of a chosen time, the run log and the working calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.core.config import setting_get
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.notifications.models import Notification
from crm.reminders.calendar import CALENDAR
from crm.reminders.models import ReminderRule, RuleRun
from crm.reminders.services import rules_ensure

TZ = timezone.get_current_timezone()


@pytest.fixture
def admin(org, client):
    client.force_login(org.admin)
    return org.admin


def _rule(key):
    rules_ensure()
    return ReminderRule.objects.get(key=key)


@pytest.mark.parametrize(
    "name,args",
    [
        ("reminder_rule_list", []),
        ("reminder_run", []),
        ("working_calendar", []),
        ("reminder_rule_edit", [1]),
    ],
)
def test_pages_404_for_non_admins(org, client, name, args):
    client.force_login(org.li_na)
    assert client.get(reverse(name, args=args)).status_code == 404
    assert client.post(reverse(name, args=args), {}).status_code == 404


def test_rule_list(admin, client):
    html = client.get(reverse("reminder_rule_list")).content.decode()
    assert ReminderRule.objects.count() >= 6  # rules_ensure ran
    assert "N 天未跟进" in html and "联系人生日" in html
    assert "未跟进天数" in html and "尚未运行" in html
    assert "负责人 N 天未跟进客户时提醒负责人" in html


def test_rule_toggle(admin, client):
    rule = _rule("festival")
    response = client.post(
        reverse("reminder_rule_list"), {"rule": rule.pk, "version": rule.version, "is_active": "0"}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False


def test_rule_edit_form_generated_from_defaults(admin, client):
    rule = _rule("no_follow_up")
    html = client.get(reverse("reminder_rule_edit", args=[rule.pk])).content.decode()
    assert 'type="number" name="p_days" value="7"' in html
    assert 'name="p_high_value_levels" value="A"' in html
    assert 'type="checkbox" name="p_notify_manager"' in html
    festival = _rule("festival")
    html = client.get(reverse("reminder_rule_edit", args=[festival.pk])).content.decode()
    assert "2027-02-06 春节" in html


def test_rule_edit_saves(admin, client):
    rule = _rule("no_follow_up")
    response = client.post(
        reverse("reminder_rule_edit", args=[rule.pk]),
        {
            "name": "十天未跟进",
            "is_active": "on",
            "version": rule.version,
            "p_days": "10",
            "p_high_value_levels": "A，B",
            "p_high_value_amount": "300000",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "十天未跟进"
    assert rule.params["days"] == 10
    assert rule.params["high_value_levels"] == ["A", "B"]
    assert rule.params["notify_manager"] is False


def test_rule_edit_invalid_params_shows_error_and_keeps_input(admin, client):
    rule = _rule("no_follow_up")
    response = client.post(
        reverse("reminder_rule_edit", args=[rule.pk]),
        {
            "name": "我的规则名",
            "is_active": "on",
            "version": rule.version,
            "p_days": "-3",
            "p_high_value_levels": "A,C",
            "p_high_value_amount": "1",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "超出范围" in html
    assert 'value="-3"' in html and 'value="我的规则名"' in html and 'value="A,C"' in html
    rule.refresh_from_db()
    assert rule.params["days"] == 7


def test_rule_edit_bad_festival_line(admin, client):
    rule = _rule("festival")
    response = client.post(
        reverse("reminder_rule_edit", args=[rule.pk]),
        {
            "name": rule.name,
            "is_active": "on",
            "version": rule.version,
            "p_days_ahead": "3",
            "p_festivals": "2027-02-06 春节\n明天 元宵",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "第 2 行" in html and "明天 元宵" in html


def test_rule_edit_stale_version(admin, client):
    rule = _rule("task_due")
    response = client.post(
        reverse("reminder_rule_edit", args=[rule.pk]),
        {"name": "x", "version": rule.version + 5, "p_hours_ahead": "12"},
    )
    assert response.status_code == 200
    assert "已被他人修改" in response.content.decode()


@pytest.fixture
def idle_customer(org):
    customer = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "杭州久未联系科技有限公司"}
    )
    long_ago = timezone.make_aware(dt.datetime(2026, 1, 5, 10, 0), TZ)
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=long_ago, created_at=long_ago, last_follow_up_at=None
    )
    return customer


def test_run_preview_then_real_run(admin, client, org, idle_customer):
    as_of = "2026-03-02T10:00"  # a Monday, working hours
    page = client.get(reverse("reminder_run")).content.decode()
    assert 'type="datetime-local"' in page
    before = Notification.objects.count()
    response = client.post(
        reverse("reminder_run"), {"as_of": as_of, "dry_run": "on", "rules": ["no_follow_up"]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "预览结果" in html
    assert "杭州久未联系科技有限公司" in html  # sample title
    run = RuleRun.objects.get(rule__key="no_follow_up")
    assert run.dry_run and run.matched == 1 and run.new == 1
    assert Notification.objects.count() == before

    response = client.post(reverse("reminder_run"), {"as_of": as_of, "rules": ["no_follow_up"]})
    html = response.content.decode()
    assert "运行结果" in html
    n = Notification.objects.get(user=org.zhang_wei, kind="no_follow_up")
    assert "杭州久未联系科技有限公司" in n.title
    run = RuleRun.objects.filter(rule__key="no_follow_up").first()
    assert not run.dry_run and run.notified == 1 and run.triggered_by == admin
    # the run log and the list show it
    assert "杭州久未联系" not in client.get(reverse("reminder_rule_list")).content.decode()
    assert "符合 1" in client.get(reverse("reminder_rule_list")).content.decode()


def test_run_outside_working_hours_shows_deferral(admin, client, idle_customer):
    response = client.post(
        reverse("reminder_run"),
        {"as_of": "2026-03-07T22:00", "dry_run": "on", "rules": ["no_follow_up"]},
    )
    assert "2026-03-09 09:00" in response.content.decode()  # Saturday night → Monday


def test_run_invalid_time(admin, client):
    response = client.post(reverse("reminder_run"), {"as_of": "not a time", "dry_run": "on"})
    assert response.status_code == 200
    assert not RuleRun.objects.exists()


def test_working_calendar_save(admin, client):
    page = client.get(reverse("working_calendar")).content.decode()
    assert 'value="09:00"' in page
    response = client.post(
        reverse("working_calendar"),
        {
            "work_start": "08:30",
            "work_end": "17:30",
            "weekend_off": "on",
            "holidays": "2027-02-08\n2027-02-06\n\n",
            "workdays": "2027-02-13",
            "version": "0",
        },
    )
    assert response.status_code == 302
    cal = setting_get(CALENDAR)
    assert cal["work_start"] == "08:30" and cal["work_end"] == "17:30"
    assert cal["holidays"] == ["2027-02-06", "2027-02-08"]
    assert cal["workdays"] == ["2027-02-13"]


def test_working_calendar_errors_next_to_fields(admin, client):
    response = client.post(
        reverse("working_calendar"),
        {
            "work_start": "18:00",
            "work_end": "09:00",
            "holidays": "2027-02-06\n2027-13-40",
            "workdays": "",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "2027-13-40" in html and "不是日期" in html
    assert "下班时间应晚于上班时间" in html
    assert setting_get(CALENDAR)["work_start"] == "09:00"
