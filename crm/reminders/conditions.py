"""The built-in reminder conditions (issue: follow-ups, tasks and smart reminders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.reminders.registry import Condition, Occurrence, condition_register

# Apps add "is this customer high-value?" tests (the sales app: open opportunity amount).
HIGH_VALUE_TESTS: list[Any] = []


def _customer_url(customer_id: int) -> str:
    return reverse("customer_detail", args=[customer_id])


def _is_high_value(customer: Any, params: dict[str, Any]) -> bool:
    if customer.level and customer.level in (params.get("high_value_levels") or []):
        return True
    threshold = params.get("high_value_amount")
    amount = Decimal(str(threshold)) if threshold not in (None, "") else None
    return any(test(customer, amount) for test in HIGH_VALUE_TESTS)


def no_follow_up(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """Not followed up for N days → owner; high-value customers → also the owner's manager."""
    from crm.customers.models import Customer

    days = int(params.get("days") or 7)
    cutoff = now - dt.timedelta(days=days)
    qs = (
        Customer.objects.filter(owner__isnull=False, owner__is_active=True)
        .filter(
            Q(last_follow_up_at__lt=cutoff)
            | Q(last_follow_up_at__isnull=True, owned_since__lt=cutoff)
            | Q(last_follow_up_at__isnull=True, owned_since__isnull=True, created_at__lt=cutoff)
        )
        .select_related("owner", "owner__manager")
        .order_by("pk")
    )
    for customer in qs.iterator(chunk_size=1000):
        since = customer.last_follow_up_at or customer.owned_since or customer.created_at
        idle = (now - since).days
        title = _("客户「%(name)s」已 %(n)d 天未跟进") % {"name": customer.name, "n": idle}
        occ = Occurrence(
            key=f"{customer.pk}:{since.date().isoformat()}",
            users=[customer.owner],
            title=title,
            body=_("上次跟进：%(d)s。建议今天联系一下。")
            % {"d": timezone.localtime(since).strftime("%Y-%m-%d")},
            url=_customer_url(customer.pk),
            task={"title": _("跟进客户「%s」") % customer.name, "customer_id": customer.pk},
        )
        manager = customer.owner.manager
        if params.get("notify_manager", True) and manager and _is_high_value(customer, params):
            occ.extra_users = [manager]
            occ.extra_title = _("重要客户「%(name)s」已 %(n)d 天未跟进（负责人：%(owner)s）") % {
                "name": customer.name,
                "n": idle,
                "owner": customer.owner.name,
            }
        yield occ


def follow_up_overdue(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """The planned follow-up date passed without a follow-up → owner."""
    from crm.customers.models import Customer

    grace = dt.timedelta(hours=int(params.get("grace_hours") or 0))
    qs = (
        Customer.objects.filter(owner__isnull=False, next_follow_up_at__lt=now - grace)
        .filter(
            Q(last_follow_up_at__isnull=True)
            | Q(last_follow_up_at__lt=models_F("next_follow_up_at"))
        )
        .select_related("owner")
        .order_by("pk")
    )
    for customer in qs.iterator(chunk_size=1000):
        due = timezone.localtime(customer.next_follow_up_at)
        yield Occurrence(
            key=f"{customer.pk}:{customer.next_follow_up_at.isoformat()}",
            users=[customer.owner],
            title=_("客户「%(name)s」计划于 %(d)s 跟进，尚未跟进")
            % {"name": customer.name, "d": due.strftime("%Y-%m-%d")},
            url=_customer_url(customer.pk),
            task={"title": _("跟进客户「%s」") % customer.name, "customer_id": customer.pk},
        )


def models_F(name: str) -> Any:
    from django.db.models import F

    return F(name)


def contact_birthday(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """A contact's birthday within N days → the customer's owner."""
    from crm.customers.models import Contact

    ahead = int(params.get("days_ahead") or 3)
    today = timezone.localtime(now).date()
    days = [today + dt.timedelta(days=i) for i in range(ahead + 1)]
    q = Q()
    for d in days:
        q |= Q(birthday__month=d.month, birthday__day=d.day)
    qs = (
        Contact.objects.filter(q, customer__owner__isnull=False, customer__deleted_at__isnull=True)
        .select_related("customer", "customer__owner")
        .order_by("pk")
    )
    for contact in qs.iterator(chunk_size=1000):
        assert contact.birthday is not None
        birthday = next(
            d for d in days if (d.month, d.day) == (contact.birthday.month, contact.birthday.day)
        )
        when = _("今天") if birthday == today else birthday.strftime("%m-%d")
        yield Occurrence(
            key=f"{contact.pk}:{birthday.year}",
            users=[contact.customer.owner],
            title=_("%(name)s（%(company)s）%(when)s 生日")
            % {"name": contact.name, "company": contact.customer.name, "when": when},
            body=_("送上一句祝福吧。"),
            url=_customer_url(contact.customer_id),
        )


def festival(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """A configured festival within N days → every owner of customers, once per festival."""
    from crm.access.models import User

    ahead = int(params.get("days_ahead") or 3)
    today = timezone.localtime(now).date()
    upcoming = []
    for item in params.get("festivals") or []:
        try:
            day = dt.date.fromisoformat(str(item[0]))
        except (ValueError, TypeError, IndexError):
            continue
        if today <= day <= today + dt.timedelta(days=ahead):
            upcoming.append((day, str(item[1]) if len(item) > 1 else ""))
    if not upcoming:
        return
    owners = (
        User.objects.filter(is_active=True, owned_customers__isnull=False).distinct().order_by("pk")
    )
    for day, name in upcoming:
        for owner in owners:
            yield Occurrence(
                key=f"{day.isoformat()}:{name}:{owner.pk}",
                users=[owner],
                title=_("%(d)s 是%(name)s，记得向客户问候")
                % {"d": day.strftime("%m-%d"), "name": name},
                body=_("可以在「话术模板」里找到节日问候语。"),
                url=reverse("customer_list") + "?owner=me",
            )


def task_due(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """A task due within the next N hours → assignee."""
    from crm.activities.models import Task

    hours = int(params.get("hours_ahead") or 24)
    qs = (
        Task.objects.filter(
            done_at__isnull=True, due_at__gte=now, due_at__lte=now + dt.timedelta(hours=hours)
        )
        .select_related("assignee")
        .order_by("pk")
    )
    for task in qs.iterator(chunk_size=1000):
        assert task.due_at is not None
        yield Occurrence(
            key=f"{task.pk}:{task.due_at.isoformat()}",
            users=[task.assignee],
            title=_("待办「%(t)s」将于 %(d)s 到期")
            % {"t": task.title, "d": timezone.localtime(task.due_at).strftime("%m-%d %H:%M")},
            url=reverse("my_day"),
        )


def task_overdue(now: dt.datetime, params: dict[str, Any]) -> Iterator[Occurrence]:
    """A task past its due time and not done → assignee."""
    from crm.activities.models import Task

    qs = (
        Task.objects.filter(done_at__isnull=True, due_at__lt=now)
        .select_related("assignee")
        .order_by("pk")
    )
    for task in qs.iterator(chunk_size=1000):
        assert task.due_at is not None
        yield Occurrence(
            key=f"{task.pk}:{task.due_at.isoformat()}",
            users=[task.assignee],
            title=_("待办「%(t)s」已逾期") % {"t": task.title},
            body=_("截止时间：%(d)s")
            % {"d": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")},
            url=reverse("my_day"),
        )


condition_register(
    Condition(
        "no_follow_up",
        gettext_lazy("N 天未跟进"),
        "no_follow_up",
        {
            "days": 7,
            "high_value_levels": ["A"],
            "high_value_amount": 500000,
            "notify_manager": True,
            "create_task": False,
        },
        no_follow_up,
        gettext_lazy(
            "负责人 N 天未跟进客户时提醒负责人；重要客户（级别或商机金额）同时提醒其上级。"
        ),
    )
)
condition_register(
    Condition(
        "follow_up_overdue",
        gettext_lazy("计划跟进日期已过"),
        "follow_up_overdue",
        {"grace_hours": 0, "create_task": False},
        follow_up_overdue,
        gettext_lazy("客户的下次跟进时间已过但没有新的跟进时提醒负责人。"),
    )
)
condition_register(
    Condition(
        "contact_birthday",
        gettext_lazy("联系人生日"),
        "birthday",
        {"days_ahead": 3},
        contact_birthday,
        gettext_lazy("联系人生日前 N 天提醒客户负责人。"),
    )
)
condition_register(
    Condition(
        "festival",
        gettext_lazy("节日问候"),
        "festival",
        {
            "days_ahead": 3,
            "festivals": [
                ["2027-01-01", "元旦"],
                ["2027-02-06", "春节"],
                ["2027-06-09", "端午节"],
                ["2027-09-15", "中秋节"],
                ["2027-10-01", "国庆节"],
            ],
        },
        festival,
        gettext_lazy("配置的节日前 N 天提醒有客户的销售发送问候。"),
    )
)
condition_register(
    Condition(
        "task_due",
        gettext_lazy("待办即将到期"),
        "task_due",
        {"hours_ahead": 24},
        task_due,
        gettext_lazy("待办在 N 小时内到期时提醒负责人。"),
    )
)
condition_register(
    Condition(
        "task_overdue",
        gettext_lazy("待办已逾期"),
        "task_overdue",
        {},
        task_overdue,
        gettext_lazy("待办过了截止时间仍未完成时提醒负责人。"),
    )
)
