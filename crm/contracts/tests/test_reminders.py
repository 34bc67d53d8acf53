"""Payment reminders through the rule runner, with time travel (`now` is passed in)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from crm.access.models import FieldRule
from crm.contracts import services
from crm.contracts.tests.factories import active_contract
from crm.notifications.models import Notification
from crm.reminders.models import ReminderRule
from crm.reminders.services import rules_ensure, rules_run


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """A working moment (Monday) so notifications are not deferred to the next workday."""
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def notes(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).order_by("id"))


def result(results, key):
    return next(r for r in results if r.rule == key)


def _contract_with_plan(org, due: dt.date, amount="100000", plan_amount="40000"):
    c = active_contract(org.zhang_wei, org.li_na, amount=amount)
    services.contract_plan_set(
        actor=org.zhang_wei,
        contract=c,
        expected_version=None,
        instalments=[
            {"due_date": due, "amount": plan_amount},
            {"due_date": due + dt.timedelta(days=180), "amount": "10000"},
        ],
    )
    return c


def test_payment_due_reminds_owner_and_finance_once(org):
    now = at(timezone.localdate() + dt.timedelta(days=30))
    due = now.date() + dt.timedelta(days=3)
    c = _contract_with_plan(org, due)
    r = result(rules_run(now=now, keys=["payment_due"]), "payment_due")
    assert (r.matched, r.new, r.notified) == (1, 1, 2)
    [owner_note] = notes(org.zhang_wei, "payment_due")
    [finance_note] = notes(org.liu_yang, "payment_due")
    assert (
        c.number in owner_note.title
        and "第 1 期" in owner_note.title
        and "3 天后" in owner_note.title
    )
    assert "本期未收：¥40,000.00" in owner_note.body
    assert finance_note.title.startswith(f"（负责人：{org.zhang_wei.name}）")
    assert owner_note.url == f"/contracts/{c.pk}/"
    assert not notes(org.li_na, "payment_due")
    # Once per occurrence, however often the rule runs.
    again = result(rules_run(now=now + dt.timedelta(hours=2), keys=["payment_due"]), "payment_due")
    assert (again.matched, again.new) == (1, 0)
    # Further ahead than the window: nothing.
    early = result(rules_run(now=now - dt.timedelta(days=10), keys=["payment_due"]), "payment_due")
    assert early.matched == 0


def test_fully_received_or_inactive_contracts_are_not_reminded(org):
    now = at(timezone.localdate() + dt.timedelta(days=30))
    due = now.date() + dt.timedelta(days=2)
    paid = _contract_with_plan(org, due)
    services.payment_create(actor=org.liu_yang, contract=paid, data={"amount": "40000"})
    cancelled = _contract_with_plan(org, due)
    services.contract_cancel(actor=org.zhang_wei, contract=cancelled, reason="客户取消")
    r = result(rules_run(now=now, keys=["payment_due"]), "payment_due")
    assert r.matched == 0


def test_notify_finance_off_and_no_amount_for_who_may_not_read_it(org):
    now = at(timezone.localdate() + dt.timedelta(days=30))
    _contract_with_plan(org, now.date() + dt.timedelta(days=1))
    rules_ensure()
    rule = ReminderRule.objects.get(key="payment_due")
    rule.params = {**rule.params, "notify_finance": False}
    rule.save()
    FieldRule.objects.create(
        role=org.roles["sales_rep"], entity="contract", field="amount", access="masked"
    )
    rules_run(now=now, keys=["payment_due"])
    [owner_note] = notes(org.zhang_wei, "payment_due")
    assert "¥" not in owner_note.body
    assert not notes(org.liu_yang, "payment_due")


def test_payment_overdue_owner_first_then_manager(org):
    due = timezone.localdate() + dt.timedelta(days=20)
    c = _contract_with_plan(org, due)
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "15000"})
    # Not yet due: nothing.
    r = result(
        rules_run(now=at(due - dt.timedelta(days=1)), keys=["payment_overdue"]), "payment_overdue"
    )
    assert r.matched == 0
    # Two days late: the owner.
    day2 = at(due + dt.timedelta(days=3))
    late_days = (day2.date() - due).days
    r = result(rules_run(now=day2, keys=["payment_overdue"]), "payment_overdue")
    assert (r.matched, r.new, r.notified) == (1, 1, 1)
    [owner_note] = notes(org.zhang_wei, "payment_overdue")
    assert "已逾期" in owner_note.title and f"已逾期 {late_days} 天" in owner_note.body
    assert "¥25,000.00" in owner_note.body
    assert not notes(org.li_na, "payment_overdue")
    # Past the escalation days (7 by default): the manager too, once.
    day9 = at(due + dt.timedelta(days=10))
    r = result(rules_run(now=day9, keys=["payment_overdue"]), "payment_overdue")
    assert (r.matched, r.new) == (2, 1)
    [manager_note] = notes(org.li_na, "payment_overdue")
    assert f"负责人：{org.zhang_wei.name}" in manager_note.title
    assert len(notes(org.zhang_wei, "payment_overdue")) == 1
    r = result(
        rules_run(now=day9 + dt.timedelta(days=1), keys=["payment_overdue"]), "payment_overdue"
    )
    assert r.new == 0
    # Received in full: no longer overdue.
    services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "25000"})
    r = result(
        rules_run(now=day9 + dt.timedelta(days=2), keys=["payment_overdue"]), "payment_overdue"
    )
    assert r.matched == 0


def test_rules_are_listed_with_their_defaults(org):
    rules = {r.key: r for r in rules_ensure()}
    assert rules["payment_due"].params["days_ahead"] == 7
    assert rules["payment_overdue"].params["manager_after_days"] == 7
