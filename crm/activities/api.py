"""Follow-ups (跟进记录), tasks (待办) and the caller's calendar feed.

Thin: parse input, call one selector or service, render. Reads go through
crm.activities.selectors (the permission layer and the managers' T+1 rule), writes through
crm.activities.services, and records leave through crm.access.fieldsec.present().
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import AfterValidator

from crm.access import selectors as access_selectors
from crm.access.fieldsec import present
from crm.access.models import User
from crm.activities import selectors, services
from crm.activities.config import followup_kind_label
from crm.activities.models import Attachment, FollowUp, Task
from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    cursor_errors,
    page_limit,
    page_out,
)
from crm.core.errors import DomainError, NotFound, StaleVersion, ValidationFailed
from crm.customers import selectors as customer_selectors

router = Router()

FOLLOWUPS = ["follow-ups"]
TASKS = ["tasks"]
CALENDAR = ["calendar"]

ID_OR_ME = r"^(me|[1-9][0-9]{0,17})$"


# ---------------------------------------------------------------- shared input types


def _moment(value: dt.datetime) -> dt.datetime:
    """A time a database column can hold: naive means the server's time zone (Asia/Shanghai)."""
    if not 1900 <= value.year <= 2999:
        raise ValueError(_("时间超出范围"))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    try:
        value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(_("时间超出范围")) from exc
    return value


When = Annotated[dt.datetime, AfterValidator(_moment)]


@contextmanager
def _fields_renamed(names: dict[str, str]) -> Iterator[None]:
    """A service names its parameters (`assignee`); the API names the body field (`assignee_id`)."""
    try:
        yield
    except DomainError as exc:
        exc.errors = [
            {**e, "field": names.get(e.get("field", ""), e.get("field", ""))} for e in exc.errors
        ]
        raise


def _resolve(getter: Callable[[int], Any], field: str, pk: int | None) -> Any:
    """A record chosen by id in the body: missing or invisible is the field's fault (422)."""
    if pk is None:
        return None
    try:
        return getter(pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _person_name(actor: Any, user: User | None) -> str | None:
    if user is None:
        return None
    shown = present(actor, user, ["display_name", "username"])
    return shown.get("display_name") or shown.get("username") or None


# ---------------------------------------------------------------- follow-ups: output


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    is_image: bool
    url: str = Field(description="下载地址（站内路径，需登录）")
    thumbnail_url: str | None = Field(None, description="图片的缩略图（站内路径，需登录）")


class FollowUpOut(Schema):
    id: int
    version: int
    customer_id: int
    customer: str | None = None
    contact_id: int | None = None
    contact: str | None = None
    # Subject to field-level security: absent when hidden, masked when masked.
    kind: str | None = None
    kind_label: str | None = None
    content: str | None = None
    next_action: str | None = None
    location: str | None = None
    at: dt.datetime
    next_follow_up_at: dt.datetime | None = None
    author_id: int
    author: str | None = None
    attachments: list[AttachmentOut] = []
    created_at: dt.datetime
    updated_at: dt.datetime


def _attachment_out(att: Attachment) -> dict[str, Any]:
    url = reverse("followup_attachment", args=[att.pk])
    out: dict[str, Any] = {
        "id": att.pk,
        "name": att.name,
        "size": att.size,
        "content_type": att.content_type,
        "is_image": att.is_image,
        "url": url,
    }
    if att.thumbnail:
        out["thumbnail_url"] = f"{url}?thumb=1"
    return out


def _followup_out(actor: Any, followup: FollowUp) -> dict[str, Any]:
    shown = present(actor, followup, ["kind", "content", "next_action", "location"])
    out: dict[str, Any] = {
        "id": followup.pk,
        "version": followup.version,
        "customer_id": followup.customer_id,
        "customer": present(actor, followup.customer, ["name"]).get("name"),
        "contact_id": followup.contact_id,
        **shown,
        "at": followup.at,
        "next_follow_up_at": followup.next_follow_up_at,
        "author_id": followup.author_id,
        "author": _person_name(actor, followup.author),
        "attachments": [_attachment_out(a) for a in getattr(followup, "attachment_list", [])],
        "created_at": followup.created_at,
        "updated_at": followup.updated_at,
    }
    if "kind" in shown:
        out["kind_label"] = str(followup_kind_label(followup.kind))
    if followup.contact is not None:
        out["contact"] = present(actor, followup.contact, ["name"]).get("name")
    return out


# ---------------------------------------------------------------- follow-ups: list and read


class FollowUpFilters(ListParams):
    customer: Id | None = None
    author: Text | None = Field(None, max_length=20, pattern=ID_OR_ME, description="me 或用户 id")
    contact: Id | None = None
    kind: Text | None = Field(None, max_length=30)
    date_from: dt.date | None = Field(None, description="跟进日期不早于（含）")
    date_to: dt.date | None = Field(None, description="跟进日期不晚于（含）")


@router.get(
    "/followups",
    response={200: PageOut[FollowUpOut], **ERRORS},
    exclude_unset=True,
    tags=FOLLOWUPS,
)
def followup_list(request: HttpRequest, filters: Query[FollowUpFilters]) -> dict:
    """Follow-ups the caller may see, newest first. With the T+1 setting a manager sees the
    team's follow-ups only up to yesterday (their own always)."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.followup_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda f: _followup_out(actor, f))


# ---------------------------------------------------------------- follow-ups: write


class FollowUpIn(Schema):
    customer_id: Id
    kind: Text = Field(
        max_length=30, description="call、visit、meeting、email、wechat、note 或自定义"
    )
    content: Text = Field(max_length=5000)
    at: When | None = Field(None, description="跟进时间，默认现在；可以补录过去的跟进")
    contact_id: Id | None = None
    next_action: Text = Field("", max_length=300, description="下一步（管理员可设为必填）")
    next_follow_up_at: When | None = Field(None, description="下次跟进时间，须晚于跟进时间")
    location: Text = Field("", max_length=200)
    create_task: bool = Field(False, description="按“下一步”为自己建一条待办")


def _followup_create(actor: Any, payload: FollowUpIn, files: list[Any]) -> dict[str, Any]:
    customer = _resolve(
        lambda i: customer_selectors.customer_get(actor=actor, customer_id=i),
        "customer_id",
        payload.customer_id,
    )
    contact = _resolve(
        lambda i: customer_selectors.contact_get(actor=actor, contact_id=i),
        "contact_id",
        payload.contact_id,
    )
    with _fields_renamed({"contact": "contact_id"}):
        followup = services.followup_create(
            actor=actor,
            customer=customer,
            kind=payload.kind,
            content=payload.content,
            at=payload.at,
            contact=contact,
            next_action=payload.next_action,
            next_follow_up_at=payload.next_follow_up_at,
            location=payload.location,
            files=files,
            create_task=payload.create_task,
        )
    return _followup_out(actor, selectors.followup_get(actor=actor, followup_id=followup.pk))


@router.post(
    "/followups",
    response={201: FollowUpOut, **ERRORS},
    exclude_unset=True,
    tags=FOLLOWUPS,
)
def followup_create(request: HttpRequest, payload: FollowUpIn) -> Status:
    """Record a follow-up (JSON, no attachments; with files use POST /followups/upload).

    Moves the customer's last/next follow-up dates and appears on its timeline. An invisible
    `customer_id` or `contact_id` is a 422 on that field."""
    return Status(201, _followup_create(request.user, payload, []))


@router.post(
    "/followups/upload",
    response={201: FollowUpOut, **ERRORS},
    exclude_unset=True,
    tags=FOLLOWUPS,
)
def followup_create_upload(
    request: HttpRequest,
    payload: Form[FollowUpIn],
    files: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Status:
    """The same as POST /followups, as `multipart/form-data` with attachments: the fields of
    the JSON body as form fields, and one or more `files` parts (at most 9; photos, PDF,
    Word/Excel, text; size and types set by the administrator). A refused file is a 422 on
    `files`. Images get a thumbnail."""
    return Status(201, _followup_create(request.user, payload, list(files or [])))


@router.get(
    "/followups/{followup_id}",
    response={200: FollowUpOut, **ERRORS},
    exclude_unset=True,
    tags=FOLLOWUPS,
)
def followup_detail(request: HttpRequest, followup_id: Id) -> dict:
    actor = request.user
    return _followup_out(actor, selectors.followup_get(actor=actor, followup_id=followup_id))


@router.delete("/followups/{followup_id}", response={204: None, **ERRORS}, tags=FOLLOWUPS)
def followup_delete(request: HttpRequest, followup_id: Id) -> Status:
    """To the recycle bin (restorable)."""
    actor = request.user
    followup = selectors.followup_get(actor=actor, followup_id=followup_id)
    services.followup_delete(actor=actor, followup=followup)
    return Status(204, None)


# ---------------------------------------------------------------- tasks


class TaskOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    title: str | None = None
    notes: str | None = None
    due_at: dt.datetime | None = None
    done: bool
    done_at: dt.datetime | None = None
    assignee_id: int
    assignee: str | None = None
    customer_id: int | None = None
    customer: str | None = None
    followup_id: int | None = None
    source: str = Field(description="空：手工；followup：来自跟进；rule:<key>：来自提醒规则")
    created_by_id: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


def _task_out(actor: Any, task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.pk,
        "version": task.version,
        **present(actor, task, ["title", "notes"]),
        "due_at": task.due_at,
        "done": task.done_at is not None,
        "done_at": task.done_at,
        "assignee_id": task.assignee_id,
        "assignee": _person_name(actor, task.assignee),
        "customer_id": task.customer_id,
        "followup_id": task.followup_id,
        "source": task.source,
        "created_by_id": task.created_by_id,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }
    if task.customer is not None:
        out["customer"] = present(actor, task.customer, ["name"]).get("name")
    return out


class TaskFilters(ListParams):
    status: Text = Field("open", max_length=10, pattern=r"^(open|done|all)$")
    assignee: Text | None = Field(None, max_length=20, pattern=ID_OR_ME, description="me 或用户 id")
    customer: Id | None = None


@router.get("/tasks", response={200: PageOut[TaskOut], **ERRORS}, exclude_unset=True, tags=TASKS)
def task_list(request: HttpRequest, filters: Query[TaskFilters]) -> dict:
    """Tasks the caller may see (their own, their team's for managers), by due time."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.task_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda t: _task_out(actor, t))


class TaskIn(Schema):
    title: Text = Field(max_length=200)
    notes: Text = Field("", max_length=5000)
    due_at: When | None = None
    assignee_id: Id | None = Field(None, description="默认自己；经理可指派给下属")
    customer_id: Id | None = None


class TaskPatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    title: Text = Field(UNSET, max_length=200)
    notes: Text = Field(UNSET, max_length=5000)
    due_at: When | None = Field(None, description="null：清除截止时间")
    assignee_id: Id = Field(UNSET)


TASK_FIELDS = {"assignee": "assignee_id", "customer": "customer_id"}


def _user_ref(actor: Any, pk: int | None) -> User | None:
    user: User | None = _resolve(
        lambda i: access_selectors.user_get(actor=actor, user_id=i), "assignee_id", pk
    )
    return user


def _task_detail(actor: Any, task_id: int) -> dict[str, Any]:
    return _task_out(actor, selectors.task_get(actor=actor, task_id=task_id))


@router.post("/tasks", response={201: TaskOut, **ERRORS}, exclude_unset=True, tags=TASKS)
def task_create(request: HttpRequest, payload: TaskIn) -> Status:
    actor = request.user
    customer = _resolve(
        lambda i: customer_selectors.customer_get(actor=actor, customer_id=i),
        "customer_id",
        payload.customer_id,
    )
    assignee = _user_ref(actor, payload.assignee_id)
    with _fields_renamed(TASK_FIELDS):
        task = services.task_create(
            actor=actor,
            title=payload.title,
            notes=payload.notes,
            due_at=payload.due_at,
            assignee=assignee,
            customer=customer,
        )
    return Status(201, _task_detail(actor, task.pk))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, exclude_unset=True, tags=TASKS)
def task_detail(request: HttpRequest, task_id: Id) -> dict:
    return _task_detail(request.user, task_id)


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, exclude_unset=True, tags=TASKS)
def task_update(request: HttpRequest, task_id: Id, payload: TaskPatchIn) -> dict:
    """A stale `version` is refused with 409 and the task's current values in `current`."""
    actor = request.user
    task = selectors.task_get(actor=actor, task_id=task_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if "assignee_id" in changes:
        changes["assignee"] = _user_ref(actor, changes.pop("assignee_id"))
    try:
        with _fields_renamed(TASK_FIELDS):
            services.task_update(actor=actor, task=task, expected_version=version, **changes)
    except StaleVersion as exc:
        raise StaleVersion(exc.message, current=_task_detail(actor, task_id)) from exc
    return _task_detail(actor, task_id)


@router.post(
    "/tasks/{task_id}/done", response={200: TaskOut, **ERRORS}, exclude_unset=True, tags=TASKS
)
def task_done(request: HttpRequest, task_id: Id) -> dict:
    actor = request.user
    task = selectors.task_get(actor=actor, task_id=task_id)
    services.task_set_done(actor=actor, task=task, done=True)
    return _task_detail(actor, task_id)


@router.post(
    "/tasks/{task_id}/undone", response={200: TaskOut, **ERRORS}, exclude_unset=True, tags=TASKS
)
def task_undone(request: HttpRequest, task_id: Id) -> dict:
    actor = request.user
    task = selectors.task_get(actor=actor, task_id=task_id)
    services.task_set_done(actor=actor, task=task, done=False)
    return _task_detail(actor, task_id)


@router.delete("/tasks/{task_id}", response={204: None, **ERRORS}, tags=TASKS)
def task_delete(request: HttpRequest, task_id: Id) -> Status:
    """To the recycle bin."""
    actor = request.user
    services.task_delete(actor=actor, task=selectors.task_get(actor=actor, task_id=task_id))
    return Status(204, None)


# ---------------------------------------------------------------- calendar feed


class CalendarFeedOut(Schema):
    url: str = Field(description="iCalendar 订阅地址（持有链接即可读取，请勿外传）")


def _feed_out(token: str) -> dict[str, Any]:
    return {"url": f"{settings.SITE_URL}{reverse('calendar_feed', args=[token])}"}


@router.get("/me/calendar", response={200: CalendarFeedOut, **ERRORS}, tags=CALENDAR)
def calendar_feed(request: HttpRequest) -> dict:
    """The caller's calendar subscription URL (open tasks and planned follow-ups)."""
    return _feed_out(services.calendar_feed_get(actor=request.user).token)


@router.post("/me/calendar/regenerate", response={200: CalendarFeedOut, **ERRORS}, tags=CALENDAR)
def calendar_feed_regenerate(request: HttpRequest) -> dict:
    """A new URL; the old one stops working at once."""
    return _feed_out(services.calendar_feed_get(actor=request.user, regenerate=True).token)
