"""Every read of follow-ups and tasks, through the permission layer (and the T+1 setting)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from crm.access.visibility import is_admin, visible, visible_get
from crm.activities import config
from crm.activities.models import CalendarFeed, FollowUp, TalkScript, Task
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, paginate
from crm.customers.models import Customer


def today_start(now: dt.datetime | None = None) -> dt.datetime:
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def t1_filter(actor: Any, qs: QuerySet, *, author_field: str, at_field: str) -> QuerySet:
    """Managers' T+1 view: other people's activity only up to yesterday (not for admins or
    for one's own records). The same rule for pages, the API and reports."""
    if not config.manager_view_t1() or is_admin(actor):
        return qs
    return qs.filter(Q(**{author_field: actor.pk}) | Q(**{f"{at_field}__lt": today_start()}))


def followup_filter(actor: Any, filters: Any) -> QuerySet[FollowUp]:
    qs = visible(actor, FollowUp).select_related("customer", "contact", "author")
    qs = t1_filter(actor, qs, author_field="author_id", at_field="at")
    get = filters.get
    for key, field in (
        ("customer", "customer_id"),
        ("author", "author_id"),
        ("contact", "contact_id"),
    ):
        value = get(key)
        if value not in (None, ""):
            if value == "me" and key == "author":
                qs = qs.filter(author_id=actor.pk)
                continue
            try:
                qs = qs.filter(**{field: int(value)})
            except (TypeError, ValueError) as exc:
                raise ValidationFailed("not a number", field=key) from exc
    if get("kind"):
        qs = qs.filter(kind=str(get("kind"))[:30])
    for key, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
        value = get(key)
        if value:
            try:
                qs = qs.filter(**{lookup: dt.date.fromisoformat(str(value))})
            except ValueError as exc:
                raise ValidationFailed("date", field=key) from exc
    return qs


def followup_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 30) -> Page:
    page = paginate(
        followup_filter(actor, filters), ordering=("-at", "-id"), cursor=cursor, limit=limit
    )
    _attach_attachments(page.items)
    return page


def _attach_attachments(followups: list[FollowUp]) -> None:
    from crm.activities.models import Attachment

    by_id: dict[int, list[Attachment]] = {f.pk: [] for f in followups}
    for att in Attachment.objects.filter(followup_id__in=list(by_id)):
        by_id[att.followup_id].append(att)
    for f in followups:
        f.attachment_list = by_id.get(f.pk, [])  # type: ignore[attr-defined]


def followup_get(*, actor: Any, followup_id: Any) -> FollowUp:
    qs = t1_filter(actor, visible(actor, FollowUp), author_field="author_id", at_field="at")
    followup = visible_get(actor, qs.select_related("customer", "author", "contact"), followup_id)
    _attach_attachments([followup])
    return followup


def task_filter(actor: Any, filters: Any) -> QuerySet[Task]:
    qs = visible(actor, Task).select_related("assignee", "customer")
    get = filters.get
    status = get("status") or "open"
    if status == "open":
        qs = qs.filter(done_at__isnull=True)
    elif status == "done":
        qs = qs.filter(done_at__isnull=False)
    elif status != "all":
        raise ValidationFailed("status: open, done or all", field="status")
    assignee = get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee_id=actor.pk)
    elif assignee not in (None, ""):
        try:
            qs = qs.filter(assignee_id=int(assignee))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("not a number", field="assignee") from exc
    customer = get("customer")
    if customer not in (None, ""):
        try:
            qs = qs.filter(customer_id=int(customer))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("not a number", field="customer") from exc
    return qs


def task_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50) -> Page:
    return paginate(
        task_filter(actor, filters), ordering=("due_at", "id"), cursor=cursor, limit=limit
    )


def task_get(*, actor: Any, task_id: Any) -> Task:
    return visible_get(actor, Task.objects.select_related("assignee", "customer"), task_id)


@dataclass
class MyDay:
    overdue_tasks: list[Task]
    today_tasks: list[Task]
    upcoming_tasks: list[Task]
    undated_tasks: list[Task]
    overdue_followups: list[Customer]
    today_followups: list[Customer]
    upcoming_followups: list[Customer]


def my_day(*, actor: Any, now: dt.datetime | None = None) -> MyDay:
    """The rep's day: what is overdue, what is due today, what comes in the next 7 days."""
    now = now or timezone.now()
    start = today_start(now)
    end = start + dt.timedelta(days=1)
    week = start + dt.timedelta(days=8)
    tasks = list(
        Task.objects.filter(assignee=actor, done_at__isnull=True)
        .filter(Q(due_at__lt=week) | Q(due_at__isnull=True))
        .select_related("customer")
        .order_by("due_at", "id")[:300]
    )
    customers = list(
        Customer.objects.filter(owner=actor, next_follow_up_at__lt=week).order_by(
            "next_follow_up_at", "id"
        )[:300]
    )
    return MyDay(
        overdue_tasks=[t for t in tasks if t.due_at is not None and t.due_at < now],
        today_tasks=[t for t in tasks if t.due_at is not None and now <= t.due_at < end],
        upcoming_tasks=[t for t in tasks if t.due_at is not None and end <= t.due_at],
        undated_tasks=[t for t in tasks if t.due_at is None],
        overdue_followups=[
            c for c in customers if c.next_follow_up_at and c.next_follow_up_at < start
        ],
        today_followups=[
            c for c in customers if c.next_follow_up_at and start <= c.next_follow_up_at < end
        ],
        upcoming_followups=[
            c for c in customers if c.next_follow_up_at and end <= c.next_follow_up_at
        ],
    )


def talkscript_list(*, actor: Any, active_only: bool = True) -> list[TalkScript]:
    qs = TalkScript.objects.all()
    if active_only or not is_admin(actor):
        qs = qs.filter(is_active=True)
    return list(qs)


def talkscript_get(*, actor: Any, script_id: Any) -> TalkScript:
    script = TalkScript.objects.filter(pk=script_id).first()
    if script is None or (not script.is_active and not is_admin(actor)):
        raise NotFound()
    return script


def calendar_feed_ics_unscoped(token: str) -> bytes:
    """The iCalendar of a feed token's owner: open tasks and planned follow-ups.

    Unscoped lookup by token on purpose: the token is the credential (phone calendars cannot
    log in); what the feed contains is the owner's own tasks and follow-ups only.
    """
    from icalendar import Calendar, Event

    feed = (
        CalendarFeed.objects.select_related("user").filter(token=token).first() if token else None
    )
    if feed is None or not feed.user.is_active:
        raise NotFound()
    user = feed.user
    cal = Calendar()
    cal.add("prodid", "-//crm//tasks//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"CRM · {user.name}")
    since = timezone.now() - dt.timedelta(days=30)
    for task in Task.objects.filter(
        assignee=user, done_at__isnull=True, due_at__gte=since
    ).select_related("customer")[:1000]:
        assert task.due_at is not None
        event = Event()
        event.add("uid", f"task-{task.pk}@crm")
        event.add("summary", task.title + (f" · {task.customer.name}" if task.customer else ""))
        event.add("dtstart", task.due_at)
        event.add("dtend", task.due_at + dt.timedelta(minutes=30))
        event.add("dtstamp", task.updated_at)
        if task.notes:
            event.add("description", task.notes)
        cal.add_component(event)
    for customer in Customer.objects.filter(owner=user, next_follow_up_at__gte=since)[:1000]:
        assert customer.next_follow_up_at is not None
        event = Event()
        event.add(
            "uid", f"followup-{customer.pk}-{int(customer.next_follow_up_at.timestamp())}@crm"
        )
        event.add("summary", f"跟进 · {customer.name}")
        event.add("dtstart", customer.next_follow_up_at)
        event.add("dtend", customer.next_follow_up_at + dt.timedelta(minutes=30))
        event.add("dtstamp", customer.updated_at)
        cal.add_component(event)
    return cal.to_ical()


# ----------------------------------------------------------------- page helpers


def t1_hides(actor: Any, author_id: Any, at: dt.datetime | None) -> bool:
    """Whether the T+1 rule hides someone else's activity of today from this actor."""
    if at is None or not config.manager_view_t1() or is_admin(actor):
        return False
    return author_id != actor.pk and at >= today_start()


def followups_by_ids(*, actor: Any, ids: list[Any]) -> dict[int, FollowUp]:
    """Visible follow-ups (T+1 respected) with their attachments, by id, in two queries."""
    clean = {int(i) for i in ids if str(i).isdigit()}
    if not clean:
        return {}
    qs = t1_filter(actor, visible(actor, FollowUp), author_field="author_id", at_field="at")
    found = list(qs.filter(pk__in=clean).select_related("contact"))
    _attach_attachments(found)
    return {f.pk: f for f in found}


def tasks_by_ids(*, actor: Any, ids: list[Any]) -> dict[int, Task]:
    clean = {int(i) for i in ids if str(i).isdigit()}
    if not clean:
        return {}
    return {t.pk: t for t in visible(actor, Task).filter(pk__in=clean).select_related("assignee")}


def attachment_get(*, actor: Any, attachment_id: Any) -> Any:
    """An attachment, only when the actor may view its follow-up (T+1 included)."""
    from crm.activities.models import Attachment

    att = Attachment.objects.filter(pk=attachment_id).only("id", "followup_id").first()
    if att is None:
        raise NotFound()
    followup_get(actor=actor, followup_id=att.followup_id)
    return Attachment.objects.get(pk=att.pk)


def customer_open_tasks(*, actor: Any, customer_id: Any, limit: int = 20) -> list[Task]:
    return list(
        visible(actor, Task)
        .filter(customer_id=customer_id, done_at__isnull=True)
        .select_related("assignee")
        .order_by(F("due_at").asc(nulls_last=True), "id")[:limit]
    )


def followup_contact_choices(*, actor: Any, customer_id: Any) -> list[Any]:
    """The customer's contacts the actor may see (for the follow-up form)."""
    from crm.customers.models import Contact

    return list(
        visible(actor, Contact)
        .filter(customer_id=customer_id)
        .only("id", "name", "title")
        .order_by("-is_primary", "id")[:200]
    )


def task_assignee_choices(*, actor: Any, include_ids: list[int] | None = None) -> list[Any]:
    """Who the actor may give a task to: oneself and one's reports (admins: everyone active)."""
    from crm.access.models import User
    from crm.access.visibility import report_ids

    qs = User.objects.filter(is_active=True)
    if not is_admin(actor):
        qs = qs.filter(pk__in=[actor.pk, *report_ids(actor)])
    if include_ids:
        qs = User.objects.filter(Q(pk__in=qs.values("pk")) | Q(pk__in=include_ids))
    return list(qs.order_by("username"))


def followup_customer_choices(*, actor: Any, ids: list[Any]) -> dict[int, str]:
    """Names of visible customers by id (for filter labels)."""
    clean = {int(i) for i in ids if str(i).isdigit()}
    if not clean:
        return {}
    return dict(visible(actor, Customer).filter(pk__in=clean).values_list("pk", "name"))
