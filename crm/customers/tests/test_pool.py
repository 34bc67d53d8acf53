"""The public pool (公海): claim with a per-rep limit, release with a reason, and the
administrator's rules applied at a chosen time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.access.visibility import visible
from crm.audit.models import AuditEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers import services
from crm.customers.models import Customer, CustomerStatus
from crm.customers.selectors import customer_360, customer_home_stats, customer_list
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def days(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def make(actor, name, **fields):
    c = services.customer_create(actor=actor, data={"name": name})
    if fields:
        Customer.objects.filter(pk=c.pk).update(**fields)
        c.refresh_from_db()
    return c


# ------------------------------------------------------------------ claim and release


def test_release_needs_a_reason_and_puts_in_the_pool(org):
    c = make(org.zhang_wei, "甲公司")
    with pytest.raises(ValidationFailed) as exc:
        services.customer_release(actor=org.zhang_wei, customer=c, reason="  ")
    assert exc.value.field == "reason"
    services.customer_release(actor=org.zhang_wei, customer=c, reason="预算取消")
    c.refresh_from_db()
    assert c.owner is None and c.in_pool
    assert c.pool_reason == "预算取消"
    assert c.pool_entered_at is not None
    assert c.owned_since is None
    event = TimelineEvent.objects.get(customer=c, kind="released")
    assert "预算取消" in event.summary
    assert event.actor == org.zhang_wei
    assert event.data["changes"]["owner"] == [org.zhang_wei.name, None]
    with pytest.raises(ValidationFailed):
        services.customer_release(actor=org.admin, customer=c, reason="再放一次")


def test_only_who_may_edit_releases(org):
    c = make(org.zhang_wei, "甲公司")
    with pytest.raises(NotFound):
        services.customer_release(actor=org.wang_fang, customer=c, reason="x")
    with pytest.raises(PermissionDenied):
        services.customer_release(actor=org.li_na, customer=c, reason="x")  # team is read-only
    services.customer_release(actor=org.admin, customer=c, reason="清理")


def test_pool_is_visible_to_every_rep_and_listed_apart(org):
    c = make(org.zhang_wei, "甲公司")
    mine = make(org.zhang_wei, "乙公司")
    services.customer_release(actor=org.zhang_wei, customer=c, reason="x")
    for rep in (org.wang_fang, org.zhang_wei, org.li_na):
        assert c.pk in set(visible(rep, Customer).values_list("pk", flat=True))
        assert [x.pk for x in customer_list(actor=rep, filters={}, pool=True).items] == [c.pk]
    assert [x.pk for x in customer_list(actor=org.zhang_wei, filters={}).items] == [mine.pk]
    assert customer_home_stats(actor=org.wang_fang)["pool"] == 1
    view = customer_360(actor=org.wang_fang, customer_id=c.pk)
    assert view.can_claim and not view.can_edit and not view.can_release


def test_claim(org):
    c = make(org.zhang_wei, "甲公司")
    services.customer_release(actor=org.zhang_wei, customer=c, reason="x")
    services.customer_claim(actor=org.wang_fang, customer=c)
    c.refresh_from_db()
    assert c.owner == org.wang_fang
    assert c.owned_since is not None
    assert c.pool_entered_at is None and c.pool_reason == ""
    event = TimelineEvent.objects.get(customer=c, kind="claimed")
    assert event.actor == org.wang_fang
    assert event.data["changes"]["owner"] == [None, org.wang_fang.name]
    # Now owned: nobody else can claim it, and the 华东 rep no longer sees it.
    with pytest.raises(NotFound):
        services.customer_claim(actor=org.zhang_wei, customer=c)
    with pytest.raises(ValidationFailed) as exc:
        services.customer_claim(actor=org.admin, customer=c)
    assert exc.value.field == "owner"


def test_claim_needs_edit_rights(org):
    c = make(org.zhang_wei, "甲公司")
    services.customer_release(actor=org.zhang_wei, customer=c, reason="x")
    for actor in (org.zhao_min, org.chen_jing, org.liu_yang):  # view all, edit nothing
        with pytest.raises(PermissionDenied):
            services.customer_claim(actor=actor, customer=c)
    assert Customer.objects.get(pk=c.pk).owner is None


def test_claim_limit(org):
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": 2})
    make(org.wang_fang, "已有一")
    pool = [make(org.zhang_wei, f"公海{i}") for i in range(3)]
    for c in pool:
        services.customer_release(actor=org.zhang_wei, customer=c, reason="x")
    services.customer_claim(actor=org.wang_fang, customer=pool[0])
    with pytest.raises(ValidationFailed) as exc:
        services.customer_claim(actor=org.wang_fang, customer=pool[1])
    assert exc.value.field == "owner"
    assert "2" in exc.value.message
    assert Customer.objects.get(pk=pool[1].pk).owner is None
    # Releasing one makes room again; 0 means no limit.
    services.customer_release(actor=org.wang_fang, customer=pool[0], reason="x")
    services.customer_claim(actor=org.wang_fang, customer=pool[1])
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": 0})
    services.customer_claim(actor=org.wang_fang, customer=pool[2])


# ------------------------------------------------------------------ rules at a chosen time


@pytest.fixture
def scene(org):
    rep = org.zhang_wei
    s = {
        "protected": make(rep, "新领取", owned_since=days(10)),
        "no_follow_up": make(rep, "久未跟进", owned_since=days(40)),
        "old_follow_up": make(rep, "跟进过期", owned_since=days(60), last_follow_up_at=days(31)),
        "followed": make(rep, "刚跟进", owned_since=days(40), last_follow_up_at=days(5)),
        "no_won": make(rep, "久未成交", owned_since=days(200), last_follow_up_at=days(1)),
        "won_recently": make(
            rep, "近期成交", owned_since=days(200), last_follow_up_at=days(1), last_won_at=days(10)
        ),
        "won_status": make(rep, "已成交客户", owned_since=days(200), status=CustomerStatus.WON),
        "protected_old_fu": make(rep, "保护期内", owned_since=days(29), last_follow_up_at=days(90)),
    }
    pooled = make(rep, "早在公海")
    services.customer_release(actor=rep, customer=pooled, reason="x")
    s["pooled"] = pooled
    return s


def _owner(c):
    return Customer.objects.get(pk=c.pk).owner_id


def test_rules_release_what_they_say(org, scene):
    result = services.pool_apply_rules(now=NOW)
    released = {scene[k].pk for k in ("no_follow_up", "old_follow_up", "no_won")}
    assert set(result.released) == released
    assert result.checked_at == NOW
    for key, c in scene.items():
        if c.pk in released:
            assert _owner(c) is None, key
        elif key != "pooled":
            assert _owner(c) == org.zhang_wei.pk, key
    reasons = {
        c.pk: Customer.objects.get(pk=c.pk).pool_reason
        for c in (scene["no_follow_up"], scene["no_won"])
    }
    assert reasons[scene["no_follow_up"].pk] == "规则：30 天未跟进"
    assert reasons[scene["no_won"].pk] == "规则：180 天未成交"
    event = TimelineEvent.objects.get(customer=scene["no_won"], kind="released")
    assert event.actor is None  # the system, not a person
    assert "180 天未成交" in event.summary
    entry = AuditEntry.objects.filter(actor_name="system").get()
    assert entry.changes["count"] == 3


def test_rules_are_idempotent(org, scene):
    first = services.pool_apply_rules(now=NOW)
    assert len(first.released) == 3
    events = TimelineEvent.objects.filter(kind="released").count()
    again = services.pool_apply_rules(now=NOW)
    assert again.released == []
    assert TimelineEvent.objects.filter(kind="released").count() == events


def test_protection_period_ends(org, scene):
    # Ten days later the 29-day-old claim is out of protection, its follow-up long past.
    later = services.pool_apply_rules(now=NOW + dt.timedelta(days=2))
    assert scene["protected_old_fu"].pk in later.released
    assert scene["protected"].pk not in later.released


def test_dry_run_changes_nothing(org, scene):
    result = services.pool_apply_rules(now=NOW, dry_run=True)
    assert len(result.released) == 3
    assert Customer.objects.filter(owner__isnull=True).count() == 1
    assert not TimelineEvent.objects.filter(kind="released", actor__isnull=True).exists()


def test_disabled_rules_do_nothing(org, scene):
    services.customer_settings_update(actor=org.admin, pool={"enabled": False})
    assert services.pool_apply_rules(now=NOW + dt.timedelta(days=1000)).released == []
    assert Customer.objects.filter(owner__isnull=True).count() == 1


def test_one_rule_switched_off(org, scene):
    services.customer_settings_update(actor=org.admin, pool={"no_follow_up_days": 0})
    result = services.pool_apply_rules(now=NOW)
    assert result.released == [scene["no_won"].pk]
    services.customer_settings_update(
        actor=org.admin, pool={"no_follow_up_days": 30, "no_won_days": 0}
    )
    result = services.pool_apply_rules(now=NOW)
    assert set(result.released) == {scene["no_follow_up"].pk, scene["old_follow_up"].pk}


def test_longer_periods_release_less(org, scene):
    services.customer_settings_update(
        actor=org.admin, pool={"no_follow_up_days": 45, "no_won_days": 365}
    )
    assert set(services.pool_apply_rules(now=NOW).released) == set()
    assert set(services.pool_apply_rules(now=NOW + dt.timedelta(days=30)).released) == {
        scene["no_follow_up"].pk,
        scene["old_follow_up"].pk,
        scene["protected_old_fu"].pk,
    }


def test_the_scheduled_job_runs_the_rules(org):
    from crm.customers.tasks import pool_apply_rules_task
    from crm.scheduler.registry import job_get

    job = job_get("customers_pool_rules")
    assert job.task is pool_apply_rules_task
    assert job.at == dt.time(1, 0)
    c = make(org.zhang_wei, "久未跟进", owned_since=timezone.now() - dt.timedelta(days=400))
    result = pool_apply_rules_task.enqueue()
    assert result.return_value == {"released": 1}
    assert _owner(c) is None
