"""Follow-ups (dates, status, timeline, attachments, settings) and tasks, through services."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm.activities import services
from crm.activities.models import Attachment, FollowUp, TalkScript, Task
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.timeline.models import TimelineEvent


def _png(size=(800, 600)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png() -> bytes:
    """A tiny, valid-looking PNG that claims 50 000 × 50 000 pixels (2.5 gigapixels)."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture
def customer(org) -> Customer:
    return customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "杭州华锐精密机械有限公司", "level": "A"}
    )


def create(org, customer, **kw):
    kw.setdefault("kind", "call")
    kw.setdefault("content", "电话沟通了二期项目的采购计划")
    return services.followup_create(actor=kw.pop("actor", org.zhang_wei), customer=customer, **kw)


# ------------------------------------------------------------------ dates, status, timeline


def test_followup_moves_dates_status_and_timeline(org, customer):
    assert customer.status == "new"
    now = timezone.now()
    f1 = create(
        org,
        customer,
        kind="visit",
        content="上门拜访，参观了生产线，客户关注交期",
        at=now - dt.timedelta(days=2),
        next_action="发送报价单",
        next_follow_up_at=now + dt.timedelta(days=5),
        location="杭州市滨江区",
    )
    customer.refresh_from_db()
    assert customer.last_follow_up_at == f1.at
    assert customer.next_follow_up_at == f1.next_follow_up_at
    assert customer.status == "following"
    event = TimelineEvent.objects.get(kind="followup", ref_id=str(f1.pk))
    assert event.customer_id == customer.pk and event.at == f1.at
    assert event.summary.startswith("上门拜访")
    assert event.data["followup_kind"] == "visit"
    assert event.data["next_action"] == "发送报价单"
    assert event.data["location"] == "杭州市滨江区"
    assert event.ref_entity == "followup" and event.actor_id == org.zhang_wei.pk

    # A back-dated follow-up older than the latest does not move the dates.
    create(
        org,
        customer,
        at=now - dt.timedelta(days=10),
        next_follow_up_at=now - dt.timedelta(days=8),
    )
    customer.refresh_from_db()
    assert customer.last_follow_up_at == f1.at
    assert customer.next_follow_up_at == f1.next_follow_up_at

    # A newer one does (and clears the plan when it has none).
    f3 = create(org, customer, at=now - dt.timedelta(hours=1))
    customer.refresh_from_db()
    assert customer.last_follow_up_at == f3.at and customer.next_follow_up_at is None


def test_other_statuses_are_kept(org, customer):
    Customer.objects.filter(pk=customer.pk).update(status="won")
    customer.refresh_from_db()
    create(org, customer)
    customer.refresh_from_db()
    assert customer.status == "won"


def test_followup_outside_scope_is_not_found(org, customer):
    with pytest.raises(NotFound):
        create(org, customer, actor=org.wang_fang)
    assert not FollowUp.objects.exists()


def test_contact_must_belong_to_customer(org, customer):
    other = customer_services.customer_create(
        actor=org.zhang_wei,
        data={"name": "宁波嘉禾汽车配件有限公司"},
        contacts=[{"name": "王建华", "title": "采购经理"}],
    )
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, contact=other.contacts.get())
    assert exc.value.field == "contact"


# ------------------------------------------------------------------ validation and settings


def test_time_rules(org, customer):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, at=now + dt.timedelta(hours=1))
    assert exc.value.field == "at"
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, at=now, next_follow_up_at=now - dt.timedelta(minutes=1))
    assert exc.value.field == "next_follow_up_at"
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, at=now, next_follow_up_at=now)
    assert exc.value.field == "next_follow_up_at"
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, at="昨天下午")
    assert exc.value.field == "at"
    # Strings in local time are accepted (forms send them).
    f = create(org, customer, at="2026-01-05 14:30", next_follow_up_at="2026-01-12 09:00")
    assert timezone.localtime(f.at).strftime("%Y-%m-%d %H:%M") == "2026-01-05 14:30"


def test_kind_and_content_required(org, customer):
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, kind="telepathy")
    assert exc.value.field == "kind"
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, content="   ")
    assert exc.value.field == "content"


def test_mandatory_next_action_and_custom_kinds(org, customer):
    services.followup_settings_update(
        actor=org.admin,
        next_action_required=True,
        kinds=[["call", ""], ["demo", "产品演示"]],
    )
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer)
    assert exc.value.field == "next_action"
    f = create(org, customer, kind="demo", next_action="安排试用")
    assert f.get_kind_display() == "产品演示"
    with pytest.raises(ValidationFailed):
        create(org, customer, kind="visit", next_action="x")  # removed kind
    with pytest.raises(PermissionDenied):
        services.followup_settings_update(actor=org.li_na, next_action_required=False)
    with pytest.raises(ValidationFailed):
        services.followup_settings_update(actor=org.admin, kinds=[["电话", "中文代码"]])
    with pytest.raises(ValidationFailed):
        services.followup_settings_update(actor=org.admin, manager_view="t+7")


def test_create_task_from_next_action(org, customer):
    due = timezone.now() + dt.timedelta(days=3)
    f = create(org, customer, next_action="寄送样品", next_follow_up_at=due, create_task=True)
    task = Task.objects.get(followup=f)
    assert (task.title, task.due_at, task.assignee, task.customer, task.source) == (
        "寄送样品",
        due,
        org.zhang_wei,
        customer,
        "followup",
    )
    # Without a next action there is nothing to do.
    create(org, customer, create_task=True)
    assert Task.objects.count() == 1


# ------------------------------------------------------------------ attachments


def test_image_attachment_gets_thumbnail(org, customer):
    f = create(org, customer, files=[SimpleUploadedFile("现场.png", _png(), "image/png")])
    att = f.attachments.get()
    assert att.is_image and att.content_type == "image/png" and att.name == "现场.png"
    assert att.thumbnail
    from PIL import Image

    with att.thumbnail.open("rb") as fh, Image.open(fh) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 480
    event = TimelineEvent.objects.get(kind="followup", ref_id=str(f.pk))
    assert event.data["attachments"] == 1


def test_type_judged_by_content(org, customer):
    # A PDF named .png is stored as the PDF it is (no thumbnail).
    f = create(org, customer, files=[SimpleUploadedFile("scan.png", PDF, "image/png")])
    att = f.attachments.get()
    assert att.content_type == "application/pdf" and not att.is_image and not att.thumbnail
    # An executable named .png is refused.
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, files=[SimpleUploadedFile("photo.png", EXE, "image/png")])
    assert exc.value.field == "files"
    # Random bytes claiming to be a JPEG are refused too.
    with pytest.raises(ValidationFailed):
        create(org, customer, files=[SimpleUploadedFile("a.jpg", b"hello" * 10, "image/jpeg")])


def test_exe_refused(org, customer):
    for upload in (
        SimpleUploadedFile("setup.exe", EXE, "application/x-msdownload"),
        SimpleUploadedFile("setup.exe", PDF, "application/pdf"),  # a PDF called .exe
        SimpleUploadedFile("notes.txt", EXE, "text/plain"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            create(org, customer, files=[upload])
        assert exc.value.field == "files"
    assert not FollowUp.objects.exists() and not Attachment.objects.exists()


def test_plain_text_and_office_files(org, customer):
    f = create(
        org,
        customer,
        files=[SimpleUploadedFile("纪要.txt", "会议纪要：确认二期需求".encode(), "text/plain")],
    )
    assert f.attachments.get().content_type == "text/plain"
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    with pytest.raises(ValidationFailed):
        create(org, customer, files=[SimpleUploadedFile("合同.docx", b"not a zip", docx)])
    g = create(org, customer, files=[SimpleUploadedFile("合同.docx", b"PK\x03\x04rest", docx)])
    assert g.attachments.get().content_type == docx


def test_size_limit(org, customer):
    services.followup_settings_update(actor=org.admin, max_attachment_mb=1)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, files=[SimpleUploadedFile("big.pdf", big, "application/pdf")])
    assert exc.value.field == "files" and "1 MB" in exc.value.message
    with pytest.raises(ValidationFailed):
        create(org, customer, files=[SimpleUploadedFile("empty.pdf", b"", "application/pdf")])
    with pytest.raises(ValidationFailed):
        services.followup_settings_update(actor=org.admin, max_attachment_mb=1000)


def test_too_many_files(org, customer):
    files = [SimpleUploadedFile(f"{i}.pdf", PDF, "application/pdf") for i in range(10)]
    with pytest.raises(ValidationFailed) as exc:
        create(org, customer, files=files)
    assert exc.value.field == "files"


def test_decompression_bomb_does_not_crash(org, customer):
    f = create(org, customer, files=[SimpleUploadedFile("huge.png", _bomb_png(), "image/png")])
    att = f.attachments.get()
    assert att.is_image and not att.thumbnail
    assert services._thumbnail(_bomb_png()) is None


# ------------------------------------------------------------------ tasks and talk scripts


def test_task_lifecycle(org, customer):
    due = timezone.now() + dt.timedelta(days=1)
    task = services.task_create(
        actor=org.li_na, title="回访客户", assignee=org.zhang_wei, due_at=due, customer=customer
    )
    assert task.assignee == org.zhang_wei and task.created_by == org.li_na
    assert TimelineEvent.objects.filter(kind="task", ref_id=str(task.pk)).count() == 1
    task = services.task_set_done(actor=org.zhang_wei, task=task)
    assert task.is_done
    task = services.task_set_done(actor=org.zhang_wei, task=task, done=False)
    assert not task.is_done
    # A rep cannot give tasks to a colleague; a manager only to reports.
    with pytest.raises(PermissionDenied):
        services.task_create(actor=org.zhang_wei, title="x", assignee=org.wang_fang)
    with pytest.raises(PermissionDenied):
        services.task_create(actor=org.li_na, title="x", assignee=org.wang_fang)
    with pytest.raises(ValidationFailed):
        services.task_create(actor=org.zhang_wei, title=" ")


def test_talkscripts_admin_only(org):
    with pytest.raises(PermissionDenied):
        services.talkscript_save(actor=org.zhang_wei, title="开场白", body="您好")
    s = services.talkscript_save(
        actor=org.admin, title="开场白", body="您好，我是华信智能的张伟。", category="电话"
    )
    assert TalkScript.objects.get().title == "开场白"
    services.talkscript_delete(actor=org.admin, script_id=s.pk)
    with pytest.raises(NotFound):
        services.talkscript_delete(actor=org.admin, script_id=s.pk)


# ------------------------------------------------------------------ demo data


def test_demo_step_is_idempotent(org):
    from crm.activities.demo import demo_activities

    now = timezone.now()
    c = customer_services.customer_create(
        actor=org.zhang_wei,
        data={"name": "嘉兴鑫源汽车零部件有限公司", "level": "A", "status": "following"},
        contacts=[{"name": "周海涛", "title": "采购经理"}],
    )
    Customer.objects.filter(pk=c.pk).update(
        last_follow_up_at=now - dt.timedelta(days=20), next_follow_up_at=now - dt.timedelta(days=3)
    )
    users = {"admin": org.admin, "zhang.wei": org.zhang_wei, "li.na": org.li_na}
    report = demo_activities(users)
    assert "follow-ups" in report
    followups = list(FollowUp.objects.filter(customer=c))
    assert followups and all(f.at >= now - dt.timedelta(days=61) for f in followups)
    c.refresh_from_db()
    assert c.last_follow_up_at == max(f.at for f in followups) < now - dt.timedelta(days=7)
    assert c.next_follow_up_at is not None and c.next_follow_up_at < now  # overdue
    assert TalkScript.objects.filter(title__in=["开场白", "报价跟进", "节日问候"]).count() == 3
    counts = (FollowUp.objects.count(), Task.objects.count(), TalkScript.objects.count())
    assert "skipped" in demo_activities(users)
    assert (FollowUp.objects.count(), Task.objects.count(), TalkScript.objects.count()) == counts
