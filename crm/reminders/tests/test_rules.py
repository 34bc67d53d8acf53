"""Reminder rules with time travel: every run passes `now`; occurrences are notified once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.activities import services as activity_services
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.notifications.models import Notification
from crm.reminders import registry
from crm.reminders.calendar import next_working_moment
from crm.reminders.models import ReminderOccurrence, ReminderRule, RuleRun
from crm.reminders.registry import Condition
from crm.reminders.services import rule_update, rules_ensure, rules_run

LONG_AGO = timezone.make_aware(dt.datetime(2026, 1, 1, 9, 0))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    naive = dt.datetime(year, month, day, hour, minute)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def day_at(days: float, hour: int = 10) -> dt.datetime:
    """A working moment about `days` from now (the next one if that falls on a weekend)."""
    moment = timezone.localtime(timezone.now() + dt.timedelta(days=days))
    return next_working_moment(moment.replace(hour=hour, minute=0, second=0, microsecond=0))


def idle_customer(owner, name: str, level: str = "B", **data) -> Customer:
    """A customer registered long ago and never followed up since."""
    c = customer_services.customer_create(actor=owner, data={"name": name, "level": level, **data})
    Customer.objects.filter(pk=c.pk).update(created_at=LONG_AGO, owned_since=LONG_AGO)
    c.refresh_from_db()
    return c


def follow_up(actor, customer, at, **kw):
    return activity_services.followup_create(
        actor=actor, customer=customer, kind="call", content="电话沟通需求", at=at, **kw
    )


def notes(user, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=kind).order_by("id"))


def result(results, key):
    return next(r for r in results if r.rule == key)


# ------------------------------------------------------------------ no follow-up


def test_no_follow_up_high_value_copies_manager_and_is_idempotent(org):
    now0 = timezone.now()
    c = idle_customer(org.zhang_wei, "上海恒通机械设备有限公司", level="A")
    follow_up(org.zhang_wei, c, now0 - dt.timedelta(days=30))

    t1 = day_at(-21)
    results = rules_run(now=t1, keys=["no_follow_up"])
    r = result(results, "no_follow_up")
    assert (r.matched, r.new, r.notified) == (1, 1, 2)
    [owner_note] = notes(org.zhang_wei, "no_follow_up")
    [manager_note] = notes(org.li_na, "no_follow_up")
    assert "上海恒通机械设备有限公司" in owner_note.title and "未跟进" in owner_note.title
    assert "重要客户" not in owner_note.title
    assert manager_note.title.startswith("重要客户")
    assert f"负责人：{org.zhang_wei.name}" in manager_note.title
    assert owner_note.url == f"/customers/{c.pk}/" or str(c.pk) in owner_note.url
    assert not notes(org.director, "no_follow_up")  # only the direct manager

    # The same occurrence: again at once, 15 minutes and a day later → nothing new.
    for later in (t1, t1 + dt.timedelta(minutes=15), t1 + dt.timedelta(days=1)):
        again = result(rules_run(now=later, keys=["no_follow_up"]), "no_follow_up")
        assert (again.matched, again.new, again.notified) == (1, 0, 0)
    assert len(notes(org.zhang_wei, "no_follow_up")) == 1
    assert len(notes(org.li_na, "no_follow_up")) == 1

    # A new follow-up restarts the clock; only 7 more idle days make a new occurrence.
    follow_up(org.zhang_wei, c, now0 - dt.timedelta(days=10))
    quiet = result(rules_run(now=day_at(-8), keys=["no_follow_up"]), "no_follow_up")
    assert quiet.matched == 0
    fresh = result(rules_run(now=day_at(-1), keys=["no_follow_up"]), "no_follow_up")
    assert (fresh.new, fresh.notified) == (1, 2)
    assert len(notes(org.zhang_wei, "no_follow_up")) == 2
    assert len(notes(org.li_na, "no_follow_up")) == 2
    assert ReminderOccurrence.objects.filter(rule__key="no_follow_up").count() == 2


def test_low_level_customer_notifies_owner_only(org):
    idle_customer(org.zhang_wei, "苏州瑞丰建材有限公司", level="C")
    r = result(rules_run(now=local(2027, 1, 8, 9), keys=["no_follow_up"]), "no_follow_up")
    assert (r.matched, r.notified) == (1, 1)
    assert len(notes(org.zhang_wei, "no_follow_up")) == 1
    assert not notes(org.li_na, "no_follow_up")


def test_customer_followed_up_recently_is_not_reminded(org):
    c = idle_customer(org.zhang_wei, "杭州启明软件科技有限公司", level="A")
    follow_up(org.zhang_wei, c, timezone.now() - dt.timedelta(days=2))
    r = result(rules_run(now=day_at(1), keys=["no_follow_up"]), "no_follow_up")
    assert r.matched == 0
    assert not Notification.objects.exists()


def test_manager_copy_can_be_switched_off(org):
    rules_ensure()
    rule = ReminderRule.objects.get(key="no_follow_up")
    rule_update(
        actor=org.admin,
        rule=rule,
        expected_version=rule.version,
        params={"notify_manager": False},
    )
    idle_customer(org.zhang_wei, "宁波博远汽车零部件有限公司", level="A")
    rules_run(now=local(2027, 1, 8, 9), keys=["no_follow_up"])
    assert len(notes(org.zhang_wei, "no_follow_up")) == 1
    assert not notes(org.li_na, "no_follow_up")


# ------------------------------------------------------------------ follow-up overdue


def test_follow_up_overdue(org):
    now0 = timezone.now()
    c = idle_customer(org.zhang_wei, "南京鼎盛精密机械有限公司")
    follow_up(
        org.zhang_wei,
        c,
        now0 - dt.timedelta(days=5),
        next_follow_up_at=now0 - dt.timedelta(days=2),
    )
    r = result(rules_run(now=now0, keys=["follow_up_overdue"]), "follow_up_overdue")
    assert (r.matched, r.notified) == (1, 1)
    [n] = notes(org.zhang_wei, "follow_up_overdue")
    assert "尚未跟进" in n.title
    rules_run(now=now0 + dt.timedelta(hours=1), keys=["follow_up_overdue"])
    assert len(notes(org.zhang_wei, "follow_up_overdue")) == 1

    # Followed up (with a new plan): nothing until the new date passes, then once more.
    follow_up(
        org.zhang_wei,
        c,
        now0 - dt.timedelta(hours=1),
        next_follow_up_at=now0 + dt.timedelta(days=1),
    )
    r = result(
        rules_run(now=now0 + dt.timedelta(hours=2), keys=["follow_up_overdue"]), "follow_up_overdue"
    )
    assert r.matched == 0
    rules_run(now=now0 + dt.timedelta(days=2), keys=["follow_up_overdue"])
    assert len(notes(org.zhang_wei, "follow_up_overdue")) == 2
    assert not notes(org.li_na, "follow_up_overdue")


# ------------------------------------------------------------------ birthdays and festivals


def test_contact_birthday_across_the_new_year_once_per_year(org):
    c = customer_services.customer_create(
        actor=org.zhang_wei,
        data={"name": "无锡德润医疗器械有限公司"},
        contacts=[
            {"name": "刘建国", "title": "总经理", "birthday": dt.date(1978, 1, 2)},
            {"name": "陈晓红", "title": "采购经理", "birthday": dt.date(1985, 1, 10)},
        ],
    )
    assert c.pk
    r = result(
        rules_run(now=local(2027, 12, 30, 10), keys=["contact_birthday"]), "contact_birthday"
    )
    assert (r.matched, r.notified) == (1, 1)
    [n] = notes(org.zhang_wei, "birthday")
    assert "刘建国" in n.title and "01-02" in n.title and "无锡德润医疗器械有限公司" in n.title
    for when in (local(2027, 12, 31, 10), local(2028, 1, 2, 10)):
        r = result(rules_run(now=when, keys=["contact_birthday"]), "contact_birthday")
        assert r.new == 0
    assert len(notes(org.zhang_wei, "birthday")) == 1
    # The next year's birthday is a new occurrence.
    rules_run(now=local(2028, 12, 31, 10), keys=["contact_birthday"])
    assert len(notes(org.zhang_wei, "birthday")) == 2
    # The second contact's birthday (Jan 10) was never within 3 days of those runs.
    assert all("陈晓红" not in n.title for n in notes(org.zhang_wei, "birthday"))


def test_festival_once_per_owner(org):
    idle_customer(org.zhang_wei, "佛山汇川陶瓷有限公司")
    idle_customer(org.zhang_wei, "东莞安泰精密部件有限公司")
    idle_customer(org.wang_fang, "深圳星河数据科技有限公司")
    r = result(rules_run(now=local(2027, 2, 4, 10), keys=["festival"]), "festival")
    assert (r.matched, r.notified) == (2, 2)
    rules_run(now=local(2027, 2, 5, 10), keys=["festival"])
    [n] = notes(org.zhang_wei, "festival")
    assert "春节" in n.title
    assert len(notes(org.wang_fang, "festival")) == 1
    assert not notes(org.li_na, "festival")  # owns no customer
    # Far from any festival: nothing.
    r = result(rules_run(now=local(2027, 3, 15, 10), keys=["festival"]), "festival")
    assert r.matched == 0


# ------------------------------------------------------------------ tasks


def test_task_due_and_overdue_once_each(org):
    due = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    task = activity_services.task_create(actor=org.zhang_wei, title="给客户发送报价单", due_at=due)
    done = activity_services.task_create(actor=org.zhang_wei, title="已完成的事", due_at=due)
    activity_services.task_set_done(actor=org.zhang_wei, task=done)

    for when in (due - dt.timedelta(hours=2), due - dt.timedelta(hours=1)):
        rules_run(now=when, keys=["task_due", "task_overdue"])
    [n] = notes(org.zhang_wei, "task_due")
    assert "给客户发送报价单" in n.title
    assert not notes(org.zhang_wei, "task_overdue")

    for when in (due + dt.timedelta(hours=1), due + dt.timedelta(days=1)):
        rules_run(now=when, keys=["task_due", "task_overdue"])
    [o] = notes(org.zhang_wei, "task_overdue")
    assert "给客户发送报价单" in o.title and "已逾期" in o.title
    assert len(notes(org.zhang_wei, "task_due")) == 1
    assert all("已完成的事" not in x.title for x in Notification.objects.all())

    # Moving the due time makes a new occurrence; a finished task is not reminded again.
    later = due + dt.timedelta(days=2)
    task = activity_services.task_update(
        actor=org.zhang_wei, task=task, expected_version=task.version, due_at=later
    )
    rules_run(now=later + dt.timedelta(hours=1), keys=["task_overdue"])
    assert len(notes(org.zhang_wei, "task_overdue")) == 2
    activity_services.task_set_done(actor=org.zhang_wei, task=task)
    rules_run(now=later + dt.timedelta(days=3), keys=["task_due", "task_overdue"])
    assert len(notes(org.zhang_wei, "task_overdue")) == 2


# ------------------------------------------------------------------ administration


def test_disabled_rule_does_nothing(org):
    rules_ensure()
    rule = ReminderRule.objects.get(key="no_follow_up")
    rule_update(actor=org.admin, rule=rule, expected_version=rule.version, is_active=False)
    idle_customer(org.zhang_wei, "合肥广联智能装备有限公司", level="A")
    results = rules_run(now=local(2027, 1, 8, 9))
    assert "no_follow_up" not in {r.rule for r in results}
    assert {"follow_up_overdue", "task_due"} <= {r.rule for r in results}
    assert not RuleRun.objects.filter(rule=rule).exists()
    assert not notes(org.zhang_wei, "no_follow_up")


def test_params_changed_take_effect(org):
    c = idle_customer(org.zhang_wei, "济南金石网络科技有限公司")
    follow_up(org.zhang_wei, c, timezone.now() - dt.timedelta(days=4))
    when = day_at(0)
    assert result(rules_run(now=when, keys=["no_follow_up"]), "no_follow_up").matched == 0

    rule = ReminderRule.objects.get(key="no_follow_up")
    rule = rule_update(
        actor=org.admin, rule=rule, expected_version=rule.version, params={"days": 3}
    )
    assert rule.params["days"] == 3 and rule.params["high_value_levels"] == ["A"]
    assert result(rules_run(now=when, keys=["no_follow_up"]), "no_follow_up").notified == 1


def test_rule_update_validation(org):
    rules_ensure()
    rule = ReminderRule.objects.get(key="no_follow_up")
    with pytest.raises(PermissionDenied):
        rule_update(actor=org.zhang_wei, rule=rule, expected_version=rule.version, is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        rule_update(actor=org.admin, rule=rule, expected_version=rule.version, params={"days": "x"})
    assert exc.value.field == "params.days"
    with pytest.raises(ValidationFailed) as exc:
        rule_update(actor=org.admin, rule=rule, expected_version=rule.version, params={"nope": 1})
    assert exc.value.field == "params"
    festival = ReminderRule.objects.get(key="festival")
    with pytest.raises(ValidationFailed):
        rule_update(
            actor=org.admin,
            rule=festival,
            expected_version=festival.version,
            params={"festivals": [["2027-13-01", "坏日子"]]},
        )


def test_failing_rule_is_logged_and_others_still_run(org):
    def boom(now, params):
        raise RuntimeError("条件计算失败")

    registry.condition_register(Condition("test_boom", "boom", "system", {}, boom))
    try:
        idle_customer(org.zhang_wei, "常州永信机械设备有限公司")
        results = rules_run(now=local(2027, 1, 8, 9))
    finally:
        registry._CONDITIONS.pop("test_boom", None)
    failed = result(results, "test_boom")
    assert failed.error == "RuntimeError: 条件计算失败"
    run = RuleRun.objects.get(rule__key="test_boom")
    assert "条件计算失败" in run.error and run.finished_at is not None
    assert result(results, "no_follow_up").notified == 1
    assert len(notes(org.zhang_wei, "no_follow_up")) == 1


def test_rule_runs_record_counts(org):
    idle_customer(org.zhang_wei, "青岛海纳汽车电子有限公司", level="A")
    idle_customer(org.zhang_wei, "温州长风门窗幕墙有限公司", level="C")
    as_of = local(2027, 1, 8, 9)
    rules_run(now=as_of, keys=["no_follow_up"], actor=org.admin)
    run = RuleRun.objects.filter(rule__key="no_follow_up").latest("id")
    assert (run.matched, run.new, run.notified) == (2, 2, 3)
    assert run.as_of == as_of and run.finished_at is not None and not run.dry_run
    assert run.triggered_by == org.admin and run.error == "" and run.deferred_to is None
    rules_run(now=as_of + dt.timedelta(minutes=15), keys=["no_follow_up"])
    run = RuleRun.objects.filter(rule__key="no_follow_up").latest("id")
    assert (run.matched, run.new, run.notified) == (2, 0, 0)


def test_dry_run_creates_nothing(org):
    idle_customer(org.zhang_wei, "天津凯瑞新型建材有限公司", level="A")
    as_of = local(2027, 1, 8, 9)
    r = result(rules_run(now=as_of, keys=["no_follow_up"], dry_run=True), "no_follow_up")
    assert (r.matched, r.new, r.notified) == (1, 1, 0)
    assert any("天津凯瑞新型建材有限公司" in s for s in r.samples)
    assert not Notification.objects.exists()
    assert not ReminderOccurrence.objects.exists()
    assert RuleRun.objects.get(rule__key="no_follow_up").dry_run
    # The real run afterwards still notifies.
    r = result(rules_run(now=as_of, keys=["no_follow_up"]), "no_follow_up")
    assert r.notified == 2


def test_unknown_rule_key_refused(org):
    with pytest.raises(ValidationFailed) as exc:
        rules_run(now=local(2027, 1, 8, 9), keys=["nope"])
    assert exc.value.field == "rule"


def test_rule_can_also_create_a_task(org):
    """'Tasks … created by a rule': with create_task on, the owner gets a task once."""
    import datetime as dt

    from django.utils import timezone

    from crm.activities.models import Task
    from crm.customers import services as customer_services
    from crm.customers.models import Customer
    from crm.reminders.models import ReminderRule
    from crm.reminders.services import rule_update, rules_ensure, rules_run

    rules_ensure()
    rule = ReminderRule.objects.get(key="no_follow_up")
    rule_update(
        actor=org.admin,
        rule=rule,
        expected_version=rule.version,
        params={**rule.params, "create_task": True},
    )
    customer = customer_services.customer_create(actor=org.zhang_wei, data={"name": "任务规则客户"})
    now = timezone.make_aware(dt.datetime(2027, 1, 8, 10, 0))
    Customer.objects.filter(pk=customer.pk).update(owned_since=now - dt.timedelta(days=10))
    rules_run(now=now, keys=["no_follow_up"])
    rules_run(now=now + dt.timedelta(hours=1), keys=["no_follow_up"])
    tasks = Task.objects.filter(customer=customer, source="rule:no_follow_up")
    assert tasks.count() == 1
    assert tasks.get().assignee == org.zhang_wei
