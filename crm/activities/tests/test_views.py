"""The follow-up, task, calendar and settings pages: wiring, scope (404), T+1, attachments
served only to those who may see them, the iCalendar feed, bounded query counts."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.activities import services
from crm.activities.models import FollowUp, Task
from crm.customers import services as customer_services


def _png(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "PNG")
    return out.getvalue()


def body(response) -> str:
    return response.content.decode()


@pytest.fixture
def east(org):
    return customer_services.customer_create(
        actor=org.zhang_wei,
        data={"name": "杭州海康威视数字技术股份有限公司", "level": "A"},
        contacts=[{"name": "王建国", "mobile": "13812345678"}],
    )


def _followup(actor, customer, **kw):
    kw.setdefault("kind", "call")
    kw.setdefault("content", "电话沟通了报价")
    return services.followup_create(actor=actor, customer=customer, **kw)


def test_followup_form_renders_page_and_modal(client, org, east):
    client.force_login(org.zhang_wei)
    url = reverse("followup_create", args=[east.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = body(page)
    assert 'capture="environment"' in html and 'name="files"' in html and "multiple" in html
    assert "王建国" in html  # the customer's contacts
    assert 'enctype="multipart/form-data"' in html
    modal = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="followup-modal-content")
    assert modal.status_code == 200
    assert "<html" not in body(modal) and 'hx-encoding="multipart/form-data"' in body(modal)
    # Outside the scope: 404.
    client.force_login(org.wang_fang)
    assert client.get(url).status_code == 404


def test_create_followup_with_photo_shows_on_timeline(client, org, east):
    client.force_login(org.zhang_wei)
    contact = east.contacts.get()
    at = timezone.localtime() - dt.timedelta(hours=1)
    response = client.post(
        reverse("followup_create", args=[east.pk]),
        {
            "kind": "visit",
            "content": "拜访客户，演示了新版本",
            "contact": str(contact.pk),
            "at": at.strftime("%Y-%m-%dT%H:%M"),
            "next_action": "发报价单",
            "next_follow_up_at": (at + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "create_task": "on",
            "location": "杭州滨江",
            "files": [SimpleUploadedFile("现场.png", _png(), "image/png")],
        },
    )
    assert response.status_code == 302, body(response)
    east.refresh_from_db()
    followup = FollowUp.objects.get(customer=east)
    assert east.last_follow_up_at == followup.at
    assert east.next_follow_up_at == followup.next_follow_up_at
    assert Task.objects.filter(followup=followup, title="发报价单").exists()
    att = followup.attachments.get()
    assert att.thumbnail
    detail = body(client.get(reverse("customer_detail", args=[east.pk])))
    assert "拜访客户，演示了新版本" in detail
    assert "发报价单" in detail and "杭州滨江" in detail
    assert reverse("followup_attachment", args=[att.pk]) + "?thumb=1" in detail
    assert "写跟进" in detail and "待办" in detail  # the action and the open tasks section

    # The owner may download; the thumbnail is a JPEG.
    full = client.get(reverse("followup_attachment", args=[att.pk]))
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    assert b"".join(full.streaming_content).startswith(b"\x89PNG")
    thumb = client.get(reverse("followup_attachment", args=[att.pk]) + "?thumb=1")
    assert thumb["Content-Type"] == "image/jpeg"
    # A 华南 rep: 404, and the manager of 华东 may see it.
    client.force_login(org.wang_fang)
    assert client.get(reverse("followup_attachment", args=[att.pk])).status_code == 404
    client.force_login(org.li_na)
    assert client.get(reverse("followup_attachment", args=[att.pk])).status_code == 200
    client.logout()
    assert client.get(reverse("followup_attachment", args=[att.pk])).status_code == 302


def test_mandatory_next_action_error_keeps_input(client, org, east):
    services.followup_settings_update(actor=org.admin, next_action_required=True)
    client.force_login(org.zhang_wei)
    response = client.post(
        reverse("followup_create", args=[east.pk]),
        {
            "kind": "call",
            "content": "客户说下周再谈",
            "files": [SimpleUploadedFile("a.png", _png(), "image/png")],
        },
    )
    assert response.status_code == 400
    html = body(response)
    assert "客户说下周再谈" in html  # nothing typed is lost
    assert "invalid-feedback" in html
    assert "请重新选择" in html  # chosen files must be chosen again, and the page says so
    assert not FollowUp.objects.exists()


def test_followup_service_error_next_to_field(client, org, east):
    client.force_login(org.zhang_wei)
    future = timezone.localtime() + dt.timedelta(days=1)
    response = client.post(
        reverse("followup_create", args=[east.pk]),
        {"kind": "call", "content": "x", "at": future.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 400
    assert "跟进时间不能晚于现在" in body(response)


def test_t1_hides_todays_followups_from_manager(client, org, east):
    _followup(org.zhang_wei, east, content="今天的秘密跟进")
    client.force_login(org.li_na)
    assert "今天的秘密跟进" in body(client.get(reverse("followup_list")))
    services.followup_settings_update(actor=org.admin, manager_view="t+1")
    assert "今天的秘密跟进" not in body(client.get(reverse("followup_list")))
    assert "今天的秘密跟进" not in body(client.get(reverse("customer_detail", args=[east.pk])))
    # The author still sees it.
    client.force_login(org.zhang_wei)
    assert "今天的秘密跟进" in body(client.get(reverse("followup_list")))
    services.followup_settings_update(actor=org.admin, manager_view="live")
    client.force_login(org.li_na)
    assert "今天的秘密跟进" in body(client.get(reverse("followup_list")))


def test_followup_list_filters_and_delete(client, org, east):
    f1 = _followup(org.zhang_wei, east, kind="call", content="第一次电话")
    _followup(org.zhang_wei, east, kind="wechat", content="微信聊了")
    client.force_login(org.zhang_wei)
    html = body(client.get(reverse("followup_list") + "?kind=wechat"))
    assert "微信聊了" in html and "第一次电话" not in html
    html = body(client.get(reverse("followup_list") + f"?customer={east.pk}&author=me"))
    assert "微信聊了" in html and "第一次电话" in html and east.name in html
    client.force_login(org.wang_fang)
    assert "微信聊了" not in body(client.get(reverse("followup_list")))
    assert client.post(reverse("followup_delete", args=[f1.pk])).status_code == 404
    client.force_login(org.zhang_wei)
    response = client.post(reverse("followup_delete", args=[f1.pk]))
    assert response.status_code == 302
    assert "第一次电话" not in body(client.get(reverse("followup_list")))


def test_followup_list_query_count_bounded(client, org, east):
    for i in range(3):
        _followup(
            org.zhang_wei,
            east,
            content=f"跟进 {i}",
            files=[SimpleUploadedFile(f"{i}.png", _png(), "image/png")],
        )
    client.force_login(org.zhang_wei)
    url = reverse("followup_list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(12):
        _followup(
            org.zhang_wei,
            east,
            content=f"更多 {i}",
            files=[SimpleUploadedFile(f"m{i}.png", _png(), "image/png")],
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few), "\n".join(q["sql"][:150] for q in many.captured_queries)
    assert len(many) <= 25


def test_my_day_lists_overdue_task_and_toggle(client, org, east):
    task = services.task_create(
        actor=org.zhang_wei,
        title="回访海康",
        due_at=timezone.now() - dt.timedelta(days=2),
        customer=east,
    )
    client.force_login(org.zhang_wei)
    html = body(client.get(reverse("my_day")))
    assert "已逾期" in html and "回访海康" in html and "逾期 2 天" in html
    # Home card and nav item.
    home = body(client.get(reverse("home")))
    assert "我的今天" in home and reverse("my_day") in home
    # One-tap done with htmx: the item comes back done.
    response = client.post(
        reverse("task_toggle", args=[task.pk]),
        {"done": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"task-{task.pk}",
    )
    assert response.status_code == 200 and "task-done" in body(response)
    task.refresh_from_db()
    assert task.is_done
    assert "回访海康" not in body(client.get(reverse("my_day")))
    # Undo without htmx: a redirect.
    response = client.post(reverse("task_toggle", args=[task.pk]), {"done": "0"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.is_done
    # Someone else's task: 404.
    client.force_login(org.wang_fang)
    assert client.post(reverse("task_toggle", args=[task.pk])).status_code == 404


def test_task_create_edit_and_stale(client, org, east):
    client.force_login(org.li_na)
    response = client.post(
        reverse("task_create"),
        {
            "title": "准备投标材料",
            "assignee": str(org.zhang_wei.pk),
            "due_at": "2030-01-08T09:00",
            "customer": str(east.pk),
        },
    )
    assert response.status_code == 302, body(response)
    task = Task.objects.get(title="准备投标材料")
    assert task.assignee == org.zhang_wei and task.customer == east
    # A rep cannot give a task to someone else (not a choice for them).
    client.force_login(org.zhang_wei)
    response = client.post(reverse("task_create"), {"title": "x", "assignee": str(org.li_na.pk)})
    assert response.status_code == 400
    # Task list filters.
    html = body(client.get(reverse("task_list") + "?assignee=me"))
    assert "准备投标材料" in html
    # Stale edit keeps the input.
    url = reverse("task_edit", args=[task.pk])
    version = task.version
    services.task_update(actor=org.zhang_wei, task=task, expected_version=version, title="改过的")
    response = client.post(
        url,
        {
            "title": "我的标题",
            "assignee": str(org.zhang_wei.pk),
            "due_at": "2030-01-08T09:00",
            "version": str(version),
        },
    )
    assert response.status_code == 400
    html = body(response)
    assert "我的标题" in html and "改过的" in html
    new_version = re.search(r'name="version" value="(\d+)"', html)
    assert new_version and int(new_version.group(1)) == version + 1
    response = client.post(
        url,
        {
            "title": "我的标题",
            "assignee": str(org.zhang_wei.pk),
            "due_at": "2030-01-08T09:00",
            "version": new_version.group(1),
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "我的标题"
    client.force_login(org.wang_fang)
    assert client.get(url).status_code == 404


def test_calendar_feed(client, org, east):
    from icalendar import Calendar

    services.task_create(
        actor=org.zhang_wei, title="签合同", due_at=timezone.now() + dt.timedelta(days=1)
    )
    client.force_login(org.zhang_wei)
    page = client.get(reverse("calendar_settings"))
    assert page.status_code == 200
    match = re.search(r'value="(http://testserver/calendar/[^"]+\.ics)"', body(page))
    assert match
    client.logout()
    feed = client.get(match.group(1).replace("http://testserver", ""))
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.content)
    summaries = [str(e.get("summary")) for e in cal.walk("VEVENT")]
    assert "签合同" in summaries
    assert client.get(reverse("calendar_feed", args=["not-a-token"])).status_code == 404
    # Regenerate: the old URL stops working.
    client.force_login(org.zhang_wei)
    assert client.post(reverse("calendar_settings")).status_code == 302
    client.logout()
    assert client.get(match.group(1).replace("http://testserver", "")).status_code == 404


def test_admin_pages(client, org):
    for name in ("talkscript_list", "activity_settings"):
        client.force_login(org.zhang_wei)
        assert client.get(reverse(name)).status_code == 404
        client.force_login(org.li_na)
        assert client.get(reverse(name)).status_code == 404
        client.force_login(org.admin)
        assert client.get(reverse(name)).status_code == 200
    client.force_login(org.admin)
    response = client.post(
        reverse("talkscript_list"),
        {
            "title": "开场白",
            "category": "电话",
            "body": "您好，我是XX公司的小张",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    from crm.activities.selectors import talkscript_list

    script = talkscript_list(actor=org.admin)[0]
    client.force_login(org.zhang_wei)
    assert client.get(reverse("talkscript_edit", args=[script.pk])).status_code == 404
    customer = customer_services.customer_create(actor=org.zhang_wei, data={"name": "话术客户"})
    html = body(client.get(reverse("followup_create", args=[customer.pk])))
    assert "插入话术" in html and "您好，我是XX公司的小张" in html
    client.force_login(org.admin)
    response = client.post(
        reverse("talkscript_edit", args=[script.pk]),
        {"title": "开场白", "body": "新内容", "action": "save"},
    )
    assert response.status_code == 302
    assert talkscript_list(actor=org.admin, active_only=False)[0].is_active is False
    response = client.post(reverse("talkscript_edit", args=[script.pk]), {"action": "delete"})
    assert response.status_code == 302
    assert talkscript_list(actor=org.admin, active_only=False) == []
    # Settings: kinds editable, errors next to the field.
    response = client.post(
        reverse("activity_settings"),
        {
            "kinds": "call\nvisit\ndemo 产品演示",
            "manager_view": "t+1",
            "max_attachment_mb": "20",
            "next_action_required": "on",
        },
    )
    assert response.status_code == 302
    from crm.activities import config

    assert ("demo", "产品演示") in config.followup_kinds()
    assert config.manager_view_t1() and config.followup_settings()["max_attachment_mb"] == 20
    response = client.post(
        reverse("activity_settings"),
        {"kinds": "坏 代码", "manager_view": "live", "max_attachment_mb": "20"},
    )
    assert response.status_code == 400 and "字母、数字、下划线" in body(response)


def test_nav_items(client, org):
    client.force_login(org.zhang_wei)
    html = body(client.get(reverse("home")))
    for name in ("my_day", "followup_list", "task_list"):
        assert reverse(name) in html
    assert reverse("talkscript_list") not in html
    client.force_login(org.admin)
    html = body(client.get(reverse("home")))
    assert reverse("talkscript_list") in html and reverse("activity_settings") in html
