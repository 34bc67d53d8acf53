"""Reads of follow-ups and tasks: the permission layer, the T+1 rule, "my day"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.activities import services
from crm.activities.selectors import (
    followup_get,
    followup_list,
    my_day,
    task_list,
    today_start,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.customers import services as customer_services


def _customer(owner, name):
    return customer_services.customer_create(actor=owner, data={"name": name})


def _fu(actor, customer, at, **kw):
    return services.followup_create(
        actor=actor, customer=customer, kind="call", content="电话沟通", at=at, **kw
    )


@pytest.fixture
def activity(org):
    now = timezone.now()
    mine = _customer(org.zhang_wei, "上海宏达软件科技有限公司")
    managers = _customer(org.li_na, "苏州精诚精密机械有限公司")
    south = _customer(org.wang_fang, "广州远航医疗科技有限公司")
    return {
        "rep_today": _fu(org.zhang_wei, mine, now),
        "rep_yesterday": _fu(org.zhang_wei, mine, today_start() - dt.timedelta(hours=2)),
        "manager_today": _fu(org.li_na, managers, now),
        "south_today": _fu(org.wang_fang, south, now),
    }


def ids(page):
    return {f.pk for f in page.items}


def test_live_view(org, activity):
    a = activity
    assert ids(followup_list(actor=org.li_na, filters={})) == {
        a["rep_today"].pk,
        a["rep_yesterday"].pk,
        a["manager_today"].pk,
    }
    assert ids(followup_list(actor=org.zhang_wei, filters={})) == {
        a["rep_today"].pk,
        a["rep_yesterday"].pk,
    }
    with pytest.raises(NotFound):
        followup_get(actor=org.zhang_wei, followup_id=a["south_today"].pk)


def test_t_plus_one_for_managers(org, activity):
    a = activity
    services.followup_settings_update(actor=org.admin, manager_view="t+1")
    # The manager: the team's follow-ups up to yesterday, her own of today.
    assert ids(followup_list(actor=org.li_na, filters={})) == {
        a["rep_yesterday"].pk,
        a["manager_today"].pk,
    }
    with pytest.raises(NotFound):
        followup_get(actor=org.li_na, followup_id=a["rep_today"].pk)
    assert followup_get(actor=org.li_na, followup_id=a["rep_yesterday"].pk)
    # The director two levels up: the same rule.
    assert a["rep_today"].pk not in ids(followup_list(actor=org.director, filters={}))
    # The rep sees all of their own.
    assert ids(followup_list(actor=org.zhang_wei, filters={})) == {
        a["rep_today"].pk,
        a["rep_yesterday"].pk,
    }
    # Administrators see everything, live.
    assert ids(followup_list(actor=org.admin, filters={})) == {f.pk for f in a.values()}


def test_followup_filters(org, activity):
    a = activity
    rep = followup_list(actor=org.li_na, filters={"author": "me"})
    assert ids(rep) == {a["manager_today"].pk}
    by_customer = followup_list(actor=org.li_na, filters={"customer": a["rep_today"].customer_id})
    assert ids(by_customer) == {a["rep_today"].pk, a["rep_yesterday"].pk}
    yesterday = (today_start() - dt.timedelta(hours=2)).date().isoformat()
    dated = followup_list(
        actor=org.zhang_wei, filters={"date_from": yesterday, "date_to": yesterday}
    )
    assert ids(dated) == {a["rep_yesterday"].pk}
    with pytest.raises(ValidationFailed):
        followup_list(actor=org.li_na, filters={"customer": "abc"})
    with pytest.raises(ValidationFailed):
        followup_list(actor=org.li_na, filters={"date_from": "yesterday"})


def test_my_day_buckets(org):
    real_now = timezone.now()
    now = timezone.localtime(real_now + dt.timedelta(days=2)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )

    def task(title, due):
        return services.task_create(actor=org.zhang_wei, title=title, due_at=due)

    overdue = task("逾期的", now - dt.timedelta(hours=1))
    today = task("今天的", now + dt.timedelta(hours=2))
    upcoming = task("三天后", now + dt.timedelta(days=3))
    undated = task("没有日期", None)
    task("太远了", now + dt.timedelta(days=20))
    done = task("已完成", now + dt.timedelta(hours=3))
    services.task_set_done(actor=org.zhang_wei, task=done)
    task_other = services.task_create(actor=org.li_na, title="别人的", due_at=now)

    def planned(name, when):
        c = _customer(org.zhang_wei, name)
        _fu(org.zhang_wei, c, real_now, next_follow_up_at=when)
        return c

    late = planned("天津立信建筑材料有限公司", real_now + dt.timedelta(days=1))
    due_today = planned("北京同和数据科技有限公司", now + dt.timedelta(hours=5))
    soon = planned("石家庄晨光汽车配件有限公司", now + dt.timedelta(days=4))
    planned("太原康达医疗器械有限公司", now + dt.timedelta(days=30))

    day = my_day(actor=org.zhang_wei, now=now)
    assert [t.pk for t in day.overdue_tasks] == [overdue.pk]
    assert [t.pk for t in day.today_tasks] == [today.pk]
    assert [t.pk for t in day.upcoming_tasks] == [upcoming.pk]
    assert [t.pk for t in day.undated_tasks] == [undated.pk]
    assert [c.pk for c in day.overdue_followups] == [late.pk]
    assert [c.pk for c in day.today_followups] == [due_today.pk]
    assert [c.pk for c in day.upcoming_followups] == [soon.pk]
    assert task_other.pk not in {t.pk for t in day.today_tasks}


def test_task_list_scope_and_status(org):
    mine = services.task_create(actor=org.zhang_wei, title="我的")
    given = services.task_create(actor=org.li_na, title="交给张伟", assignee=org.zhang_wei)
    hers = services.task_create(actor=org.li_na, title="李娜自己的")
    services.task_set_done(actor=org.zhang_wei, task=mine)
    assert {t.pk for t in task_list(actor=org.zhang_wei, filters={}).items} == {given.pk}
    assert {t.pk for t in task_list(actor=org.zhang_wei, filters={"status": "done"}).items} == {
        mine.pk
    }
    # The manager sees her reports' tasks and her own; the rep not hers.
    assert {t.pk for t in task_list(actor=org.li_na, filters={"status": "all"}).items} == {
        mine.pk,
        given.pk,
        hers.pk,
    }
    assert {
        t.pk for t in task_list(actor=org.li_na, filters={"status": "all", "assignee": "me"}).items
    } == {hers.pk}
    with pytest.raises(ValidationFailed):
        task_list(actor=org.li_na, filters={"status": "whatever"})
