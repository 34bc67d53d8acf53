"""Every write to follow-ups, attachments, tasks, talk scripts and the calendar feed."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.visibility import can, is_admin, require
from crm.activities import config
from crm.activities.models import Attachment, CalendarFeed, FollowUp, TalkScript, Task
from crm.audit.services import audit_record, diff
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers.models import Contact, Customer, CustomerStatus
from crm.timeline.services import timeline_append

THUMBNAIL_SIZE = (480, 480)


def _aware(value: Any, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        result = value
    else:
        try:
            result = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationFailed(_("时间格式应为 2027-01-08 09:00"), field=field) from exc
    if timezone.is_naive(result):
        result = timezone.make_aware(result, timezone.get_current_timezone())
    return result


def _attachment_clean(upload: Any) -> tuple[str, bytes, str, bool]:
    settings = config.followup_settings()
    limit = int(settings.get("max_attachment_mb") or 10) * 1024 * 1024
    name = str(getattr(upload, "name", "") or "file")[-200:]
    size = int(getattr(upload, "size", 0) or 0)
    if size > limit:
        raise ValidationFailed(
            _("附件「%(n)s」超过 %(m)d MB") % {"n": name, "m": limit // 1024 // 1024}, field="files"
        )
    data = upload.read()
    if len(data) > limit:
        raise ValidationFailed(_("附件「%s」过大") % name, field="files")
    if not data:
        raise ValidationFailed(_("附件「%s」是空文件") % name, field="files")
    content_type = _content_type(name, data, str(getattr(upload, "content_type", "") or ""))
    if content_type not in (settings.get("allowed_types") or []):
        raise ValidationFailed(
            _("不支持的附件类型「%(n)s」（%(t)s）") % {"n": name, "t": content_type or "?"},
            field="files",
        )
    return name, data, content_type, content_type.startswith("image/")


# Never stored, whatever the bytes look like: a download could run them.
BLOCKED_EXTENSIONS = frozenset(
    {"exe", "com", "bat", "cmd", "msi", "scr", "pif", "dll", "js", "jse", "vbs", "vbe"}
    | {"ws", "wsf", "ps1", "sh", "jar", "apk", "hta", "lnk"}
)
_SNIFFABLE = ("image/", "application/pdf")
_ZIP_BASED = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


def _content_type(name: str, data: bytes, declared: str) -> str:
    """The type judged by content; the declared type (from the file name) only counts for
    formats without a recognisable signature, and only when the bytes fit it."""
    if name.rsplit(".", 1)[-1].lower() in BLOCKED_EXTENSIONS or data[:2] == b"MZ":
        return "application/x-msdownload"
    if data[:4] == b"\x7fELF":
        return "application/x-executable"
    sniffed = _sniff(data)
    if sniffed:
        return sniffed
    if declared.startswith(_SNIFFABLE):
        return "application/octet-stream"  # claims to be an image/PDF but is not
    if declared in _ZIP_BASED and not data.startswith(b"PK\x03\x04"):
        return "application/octet-stream"
    if declared.startswith("text/") and b"\x00" in data[:4096]:
        return "application/octet-stream"
    return declared


def _sniff(data: bytes) -> str:
    """The real type from the first bytes: a file's name or header can lie."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return ""


def _thumbnail(data: bytes) -> bytes | None:
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs
    try:
        with Image.open(io.BytesIO(data)) as opened:
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too.
            if opened.width * opened.height > Image.MAX_IMAGE_PIXELS:
                return None
            opened.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a reduced size
            img = ImageOps.exif_transpose(opened)
            img.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _followup_clean(
    *, kind: str, content: str, at: Any, next_action: str, next_follow_up_at: Any, location: str
) -> dict[str, Any]:
    settings = config.followup_settings()
    kinds = [k for k, _l in config.followup_kinds()]
    if kind not in kinds:
        raise ValidationFailed(_("请选择跟进方式"), field="kind")
    content = (content or "").strip()
    if not content:
        raise ValidationFailed(_("请填写跟进内容"), field="content")
    if len(content) > 5000:
        raise ValidationFailed(_("跟进内容不能超过 5000 个字符"), field="content")
    now = timezone.now()
    when = _aware(at, "at") or now
    if when > now + dt.timedelta(minutes=10):
        raise ValidationFailed(_("跟进时间不能晚于现在（可以补录过去的跟进）"), field="at")
    next_action = (next_action or "").strip()
    if len(next_action) > 300:
        raise ValidationFailed(_("下一步不能超过 300 个字符"), field="next_action")
    if settings.get("next_action_required") and not next_action:
        raise ValidationFailed(_("请填写下一步计划（管理员设置为必填）"), field="next_action")
    next_at = _aware(next_follow_up_at, "next_follow_up_at")
    if next_at is not None and next_at <= when:
        raise ValidationFailed(_("下次跟进时间应晚于本次跟进时间"), field="next_follow_up_at")
    location = (location or "").strip()[:200]
    return {
        "kind": kind,
        "content": content,
        "at": when,
        "next_action": next_action,
        "next_follow_up_at": next_at,
        "location": location,
    }


@transaction.atomic
def followup_create(
    *,
    actor: Any,
    customer: Customer,
    kind: str,
    content: str,
    at: Any = None,
    contact: Contact | None = None,
    next_action: str = "",
    next_follow_up_at: Any = None,
    location: str = "",
    files: list[Any] | None = None,
    create_task: bool = False,
) -> FollowUp:
    require(actor, "view", customer)
    require(actor, "create", FollowUp)
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationFailed(_("联系人不属于该客户"), field="contact")
    clean = _followup_clean(
        kind=kind,
        content=content,
        at=at,
        next_action=next_action,
        next_follow_up_at=next_follow_up_at,
        location=location,
    )
    prepared = [_attachment_clean(f) for f in files or []]
    if len(prepared) > 9:
        raise ValidationFailed(_("一次最多上传 9 个附件"), field="files")
    followup = FollowUp.objects.create(customer=customer, contact=contact, author=actor, **clean)
    for name, data, content_type, is_image in prepared:
        att = Attachment(
            followup=followup,
            name=name,
            content_type=content_type,
            size=len(data),
            is_image=is_image,
        )
        att.file.save(name, ContentFile(data), save=False)
        if is_image:
            thumb = _thumbnail(data)
            if thumb:
                att.thumbnail.save(f"thumb-{name}.jpg", ContentFile(thumb), save=False)
        att.save()
    _customer_follow_up_dates(customer, followup)
    summary = clean["content"][:200]
    timeline_append(
        customer_id=customer.pk,
        contact_id=contact.pk if contact else None,
        kind="followup",
        actor=actor,
        summary=summary,
        data={
            "followup_kind": clean["kind"],
            "next_action": clean["next_action"],
            "next_follow_up_at": clean["next_follow_up_at"],
            "attachments": len(prepared),
            "location": clean["location"],
        },
        ref_entity="followup",
        ref_id=followup.pk,
        at=clean["at"],
    )
    audit_record(
        action="create",
        actor=actor,
        obj=followup,
        changes={"customer": customer.pk, "kind": clean["kind"]},
    )
    if create_task and clean["next_action"]:
        task_create(
            actor=actor,
            title=clean["next_action"],
            due_at=clean["next_follow_up_at"],
            assignee=actor,
            customer=customer,
            followup=followup,
            source="followup",
        )
    return followup


def _customer_follow_up_dates(customer: Customer, followup: FollowUp) -> None:
    """A follow-up moves the customer's last/next follow-up dates (a back-dated one only
    moves them when it is the latest)."""
    fresh = Customer.objects.get(pk=customer.pk)
    updates: dict[str, Any] = {}
    if fresh.last_follow_up_at is None or followup.at >= fresh.last_follow_up_at:
        updates["last_follow_up_at"] = followup.at
        updates["next_follow_up_at"] = followup.next_follow_up_at
    if fresh.status == CustomerStatus.NEW:
        updates["status"] = CustomerStatus.FOLLOWING
    if updates:
        Customer.objects.filter(pk=customer.pk).update(**updates)
        for key, value in updates.items():
            setattr(customer, key, value)


@transaction.atomic
def followup_delete(*, actor: Any, followup: FollowUp) -> FollowUp:
    record_delete(actor=actor, obj=followup)
    timeline_append(
        customer_id=followup.customer_id,
        kind="followup",
        actor=actor,
        summary=_("删除了一条跟进记录（可在回收站恢复）"),
        ref_entity="followup",
        ref_id=followup.pk,
    )
    _customer_follow_up_dates_recompute(followup.customer_id)
    return followup


def _customer_follow_up_dates_recompute(customer_id: int) -> None:
    """After a delete or restore: the latest remaining follow-up decides the dates again."""
    latest = FollowUp.objects.filter(customer_id=customer_id).order_by("-at", "-id").first()
    Customer.objects.filter(pk=customer_id).update(
        last_follow_up_at=latest.at if latest else None,
        next_follow_up_at=latest.next_follow_up_at if latest else None,
    )


def followup_after_restore(followup: Any, actor: Any) -> None:
    """Recycle-bin hook: a restored follow-up counts again for the customer's dates."""
    _customer_follow_up_dates_recompute(followup.customer_id)


# ----------------------------------------------------------------- tasks

TASK_FIELDS = ["title", "notes", "due_at", "assignee_id", "customer_id"]


def _task_check(actor: Any, title: str, assignee: Any, customer: Customer | None) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(_("请填写待办标题"), field="title")
    if len(title) > 200:
        raise ValidationFailed(_("标题不能超过 200 个字符"), field="title")
    if assignee is None or not assignee.is_active:
        raise ValidationFailed(_("请选择在职的负责人"), field="assignee")
    if actor is not None and assignee.pk != actor.pk and not is_admin(actor):
        from crm.access.visibility import report_ids

        if assignee.pk not in report_ids(actor):
            raise PermissionDenied(_("只能给自己或下属安排待办"), field="assignee")
    if customer is not None and actor is not None and not can(actor, "view", customer):
        raise NotFound()
    return title


@transaction.atomic
def task_create(
    *,
    actor: Any,
    title: str,
    assignee: Any = None,
    due_at: Any = None,
    customer: Customer | None = None,
    notes: str = "",
    followup: FollowUp | None = None,
    source: str = "",
) -> Task:
    if actor is not None:
        require(actor, "create", Task)
    assignee = assignee or actor
    title = _task_check(actor, title, assignee, customer)
    task = Task.objects.create(
        title=title,
        notes=(notes or "").strip()[:5000],
        due_at=_aware(due_at, "due_at"),
        assignee=assignee,
        customer=customer,
        followup=followup,
        source=source[:50],
        created_by=actor,
    )
    if customer is not None:
        timeline_append(
            customer_id=customer.pk,
            kind="task",
            actor=actor,
            summary=_("新建待办：%s") % title,
            ref_entity="task",
            ref_id=task.pk,
        )
    audit_record(
        action="create", actor=actor, obj=task, changes={"title": title, "assignee": assignee.pk}
    )
    return task


@transaction.atomic
def task_update(*, actor: Any, task: Task, expected_version: int | None, **changes: Any) -> Task:
    require(actor, "edit", task)
    before = {f: getattr(task, f) for f in TASK_FIELDS}
    if "title" in changes:
        task.title = changes["title"]
    if "notes" in changes:
        task.notes = (changes["notes"] or "").strip()[:5000]
    if "due_at" in changes:
        task.due_at = _aware(changes["due_at"], "due_at")
    if "assignee" in changes:
        task.assignee = changes["assignee"]
    task.title = _task_check(actor, task.title, task.assignee, task.customer)
    save_with_version(
        task, expected_version=expected_version, fields=["title", "notes", "due_at", "assignee"]
    )
    changed = diff(before, {f: getattr(task, f) for f in TASK_FIELDS})
    if changed:
        audit_record(action="update", actor=actor, obj=task, changes=changed)
    return task


@transaction.atomic
def task_set_done(*, actor: Any, task: Task, done: bool = True) -> Task:
    require(actor, "edit", task)
    if done == task.is_done:
        return task
    task.done_at = timezone.now() if done else None
    Task.objects.filter(pk=task.pk).update(done_at=task.done_at, version=task.version + 1)
    task.version += 1
    if task.customer_id:
        timeline_append(
            customer_id=task.customer_id,
            kind="task",
            actor=actor,
            summary=(_("完成待办：%s") if done else _("重新打开待办：%s")) % task.title,
            ref_entity="task",
            ref_id=task.pk,
        )
    audit_record(action="update", actor=actor, obj=task, changes={"done": [not done, done]})
    return task


@transaction.atomic
def task_delete(*, actor: Any, task: Task) -> Task:
    return record_delete(actor=actor, obj=task)


# ----------------------------------------------------------------- talk scripts


def _admin(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改此设置"))


@transaction.atomic
def talkscript_save(
    *,
    actor: Any,
    title: str,
    body: str,
    category: str = "",
    is_active: bool = True,
    script: TalkScript | None = None,
) -> TalkScript:
    _admin(actor)
    title = (title or "").strip()
    body = (body or "").strip()
    if not title or len(title) > 100:
        raise ValidationFailed(_("标题不能为空且不超过 100 个字符"), field="title")
    if not body or len(body) > 5000:
        raise ValidationFailed(_("内容不能为空且不超过 5000 个字符"), field="body")
    script = script or TalkScript(created_by=actor)
    script.title, script.body, script.category, script.is_active = (
        title,
        body,
        (category or "").strip()[:50],
        is_active,
    )
    script.save()
    audit_record(
        action="config",
        actor=actor,
        entity="talkscript",
        object_id=script.pk,
        object_repr=title,
        changes={"title": title, "category": script.category, "active": is_active},
    )
    return script


@transaction.atomic
def talkscript_delete(*, actor: Any, script_id: int) -> None:
    _admin(actor)
    deleted, _x = TalkScript.objects.filter(pk=script_id).delete()
    if not deleted:
        raise NotFound()
    audit_record(
        action="config",
        actor=actor,
        entity="talkscript",
        object_id=script_id,
        changes={"deleted": True},
    )


@transaction.atomic
def followup_settings_update(*, actor: Any, **values: Any) -> dict[str, Any]:
    from crm.core.config import setting_set

    _admin(actor)
    current = config.followup_settings()
    new = dict(current)
    if "kinds" in values:
        kinds = []
        seen = set()
        for item in values["kinds"]:
            key, label = str(item[0]).strip(), str(item[1] if len(item) > 1 else "").strip()
            if not key or not key.replace("_", "").isalnum() or not key.isascii() or key in seen:
                raise ValidationFailed(
                    _("跟进方式的代码只能是字母、数字、下划线，且不能重复"), field="kinds"
                )
            seen.add(key)
            kinds.append([key, label[:30]])
        if not kinds:
            raise ValidationFailed(_("至少保留一种跟进方式"), field="kinds")
        new["kinds"] = kinds
    if "next_action_required" in values:
        new["next_action_required"] = bool(values["next_action_required"])
    if "manager_view" in values:
        if values["manager_view"] not in ("live", "t+1"):
            raise ValidationFailed(_("请选择实时或 T+1"), field="manager_view")
        new["manager_view"] = values["manager_view"]
    if "max_attachment_mb" in values:
        try:
            mb = int(values["max_attachment_mb"])
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("必须是整数"), field="max_attachment_mb") from exc
        if not 1 <= mb <= 100:
            raise ValidationFailed(_("应在 1 到 100 之间"), field="max_attachment_mb")
        new["max_attachment_mb"] = mb
    return dict(setting_set(actor=actor, key=config.FOLLOWUP, value=new))


# ----------------------------------------------------------------- calendar feed


@transaction.atomic
def calendar_feed_get(*, actor: Any, regenerate: bool = False) -> CalendarFeed:
    feed = CalendarFeed.objects.filter(user=actor).first()
    if feed is None:
        feed = CalendarFeed.objects.create(user=actor, token=secrets.token_urlsafe(32))
    elif regenerate:
        feed.token = secrets.token_urlsafe(32)
        feed.created_at = timezone.now()
        feed.save(update_fields=["token", "created_at"])
        audit_record(
            action="token",
            actor=actor,
            entity="calendar_feed",
            object_id=feed.pk,
            changes={"regenerated": True},
        )
    return feed
