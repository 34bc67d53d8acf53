"""The follow-ups and tasks API: /api/v1/followups, /api/v1/tasks, /api/v1/me/calendar.

Contracts (CRUD, multipart attachments, 409 on a stale version, 422 naming the field),
permissions (another region's records are 404; the managers' T+1 view), hostile input.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm.activities import services
from crm.customers import services as customer_services
from tests.api.clients import API, api_client, assert_error, walk_pages

TESTDATA = Path("/work/shared/testdata")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def iso(value: dt.datetime) -> str:
    return value.isoformat()


@pytest.fixture
def rep_api(org):
    return api_client(org.zhang_wei)


@pytest.fixture
def south_api(org):
    return api_client(org.wang_fang)


@pytest.fixture
def manager_api(org):
    return api_client(org.li_na)


@pytest.fixture
def east_customer(org):
    return customer_services.customer_create(
        actor=org.zhang_wei,
        data={"name": "杭州海康威视数字技术股份有限公司", "level": "A"},
        contacts=[{"name": "王建国", "mobile": "13812345678"}],
    )


@pytest.fixture
def south_customer(org):
    return customer_services.customer_create(
        actor=org.wang_fang, data={"name": "深圳市腾达电子有限公司"}
    )


def _contact_id(customer) -> int:
    return customer.contacts.get().pk


# ---------------------------------------------------------------- follow-ups


def test_followup_create_read_list_delete(org, rep_api, east_customer):
    now = timezone.now()
    response = rep_api.post(
        "/followups",
        {
            "customer_id": east_customer.pk,
            "kind": "visit",
            "content": "  拜访客户，演示了新产品  ",
            "at": iso(now - dt.timedelta(hours=2)),
            "contact_id": _contact_id(east_customer),
            "next_action": "发送报价单",
            "next_follow_up_at": iso(now + dt.timedelta(days=3)),
            "location": "杭州滨江",
            "create_task": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    fid = body["id"]
    assert body["content"] == "拜访客户，演示了新产品"
    assert body["kind"] == "visit" and body["kind_label"] == "拜访"
    assert body["customer_id"] == east_customer.pk
    assert body["customer"] == "杭州海康威视数字技术股份有限公司"
    assert body["contact"] == "王建国"
    assert body["author_id"] == org.zhang_wei.pk
    assert body["location"] == "杭州滨江"
    assert body["attachments"] == []

    # The customer's follow-up dates moved; the next action became a task.
    customer = rep_api.get(f"/customers/{east_customer.pk}").json()
    assert customer["last_follow_up_at"] is not None
    assert customer["next_follow_up_at"] is not None
    tasks = rep_api.get("/tasks", {"assignee": "me"}).json()["items"]
    assert [(t["title"], t["source"], t["customer_id"]) for t in tasks] == [
        ("发送报价单", "followup", east_customer.pk)
    ]
    assert tasks[0]["followup_id"] == fid

    detail = rep_api.get(f"/followups/{fid}")
    assert detail.status_code == 200
    assert detail.json()["next_action"] == "发送报价单"

    rep_api.post("/followups", {"customer_id": east_customer.pk, "kind": "call", "content": "电话"})
    items = walk_pages(rep_api, "/followups", {"limit": 1})
    assert len(items) == 2 and items[0]["kind"] == "call"  # newest first
    assert [f["id"] for f in rep_api.get("/followups", {"kind": "visit"}).json()["items"]] == [fid]
    assert len(rep_api.get("/followups", {"author": "me"}).json()["items"]) == 2
    assert rep_api.get("/followups", {"author": org.li_na.pk}).json()["items"] == []
    assert len(rep_api.get("/followups", {"customer": east_customer.pk}).json()["items"]) == 2
    contact_items = rep_api.get("/followups", {"contact": _contact_id(east_customer)}).json()
    assert [f["id"] for f in contact_items["items"]] == [fid]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert rep_api.get("/followups", {"date_from": tomorrow}).json()["items"] == []
    assert len(rep_api.get("/followups", {"date_to": tomorrow}).json()["items"]) == 2
    assert_error(rep_api.get("/followups", {"date_from": "2027-13-01"}), 422, "date_from")
    assert_error(rep_api.get("/followups", {"author": "boss"}), 422, "author")
    assert_error(rep_api.get("/followups", {"cursor": "nonsense"}), 422, "cursor")

    assert rep_api.delete(f"/followups/{fid}").status_code == 204
    assert_error(rep_api.get(f"/followups/{fid}"), 404)
    assert_error(rep_api.delete(f"/followups/{fid}"), 404)


def _upload(client, data: dict, files: list) -> object:
    return client.client.post(f"{API}/followups/upload", {**data, "files": files})


def test_followup_upload_with_attachments(org, rep_api, east_customer):
    response = _upload(
        rep_api,
        {
            "customer_id": east_customer.pk,
            "kind": "visit",
            "content": "现场照片",
            "create_task": "false",
        },
        [
            SimpleUploadedFile("现场.png", PNG, "image/png"),
            SimpleUploadedFile("报价.pdf", b"%PDF-1.4 quote", "application/pdf"),
        ],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    atts = body["attachments"]
    assert [(a["name"], a["content_type"], a["is_image"]) for a in atts] == [
        ("现场.png", "image/png", True),
        ("报价.pdf", "application/pdf", False),
    ]
    assert atts[0]["size"] == len(PNG)
    assert atts[0]["thumbnail_url"] == atts[0]["url"] + "?thumb=1"
    assert "thumbnail_url" not in atts[1]
    # The download is the login-protected page: the owner gets it, another region does not.
    login = rep_api.client
    login.force_login(org.zhang_wei)
    download = login.get(atts[0]["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    other = api_client(org.wang_fang).client
    other.force_login(org.wang_fang)
    assert other.get(atts[0]["url"]).status_code == 404
    detail = rep_api.get(f"/followups/{body['id']}").json()
    assert [a["id"] for a in detail["attachments"]] == [a["id"] for a in atts]
    listed = rep_api.get("/followups").json()["items"][0]
    assert len(listed["attachments"]) == 2
    # The form fields are validated like the JSON body.
    response = _upload(rep_api, {"customer_id": east_customer.pk, "kind": "visit"}, [])
    errors = assert_error(response, 422)["errors"]
    assert [e["field"] for e in errors if e["field"].endswith("content")], errors
    # Without files it works like the JSON endpoint.
    response = _upload(
        rep_api, {"customer_id": east_customer.pk, "kind": "call", "content": "无附件"}, []
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachments"] == []


def test_followup_attachment_refused(org, rep_api, east_customer):
    base = {"customer_id": east_customer.pk, "kind": "visit", "content": "附件"}
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/x-msdownload")
    assert_error(_upload(rep_api, base, [exe]), 422, "files")
    # A lying content type: the bytes decide.
    fake = SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", "image/png")
    assert_error(_upload(rep_api, base, [fake]), 422, "files")
    services.followup_settings_update(actor=org.admin, max_attachment_mb=1)
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024), "image/png")
    assert_error(_upload(rep_api, base, [big]), 422, "files")
    empty = SimpleUploadedFile("empty.pdf", b"", "application/pdf")
    assert_error(_upload(rep_api, base, [empty]), 422, "files")
    many = [SimpleUploadedFile(f"p{i}.png", PNG, "image/png") for i in range(10)]
    assert_error(_upload(rep_api, base, many), 422, "files")
    assert rep_api.get("/followups").json()["items"] == []


def test_followup_validation(org, rep_api, east_customer, south_customer):
    now = timezone.now()
    base = {"customer_id": east_customer.pk, "kind": "call", "content": "电话沟通"}
    assert_error(rep_api.post("/followups", {**base, "kind": "telepathy"}), 422, "kind")
    assert_error(rep_api.post("/followups", {**base, "content": "   "}), 422, "content")
    assert_error(rep_api.post("/followups", {**base, "content": "x" * 5001}), 422, "content")
    response = rep_api.post(
        "/followups",
        {
            **base,
            "at": iso(now - dt.timedelta(days=1)),
            "next_follow_up_at": iso(now - dt.timedelta(days=2)),
        },
    )
    assert_error(response, 422, "next_follow_up_at")
    future = rep_api.post("/followups", {**base, "at": iso(now + dt.timedelta(days=1))})
    assert_error(future, 422, "at")
    assert_error(rep_api.post("/followups", {**base, "at": "0001-01-01T00:00:00+14:00"}), 422, "at")
    assert_error(rep_api.post("/followups", {**base, "at": "yesterday"}), 422, "at")
    services.followup_settings_update(actor=org.admin, next_action_required=True)
    assert_error(rep_api.post("/followups", base), 422, "next_action")
    assert rep_api.post("/followups", {**base, "next_action": "再约时间"}).status_code == 201
    # Administrator-defined kinds are accepted.
    services.followup_settings_update(
        actor=org.admin, kinds=[["call", ""], ["demo", "产品演示"]], next_action_required=False
    )
    demo = rep_api.post("/followups", {**base, "kind": "demo"})
    assert demo.status_code == 201 and demo.json()["kind_label"] == "产品演示"
    # References: a contact of another customer, invisible records.
    other = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "宁波舟山港股份有限公司"}, contacts=[{"name": "陈明"}]
    )
    response = rep_api.post("/followups", {**base, "contact_id": _contact_id(other)})
    assert_error(response, 422, "contact_id")
    south = {**base, "customer_id": south_customer.pk}
    assert_error(rep_api.post("/followups", south), 422, "customer_id")
    assert_error(rep_api.post("/followups", {**base, "customer_id": 10**12}), 422, "customer_id")
    assert_error(rep_api.post("/followups", {**base, "customer_id": 0}), 422, "customer_id")
    assert_error(rep_api.post("/followups", "{not json"), 400)


def test_followups_of_another_region_are_404(org, rep_api, south_api, east_customer):
    followup = services.followup_create(
        actor=org.zhang_wei, customer=east_customer, kind="call", content="华东的跟进"
    )
    task = services.task_create(actor=org.zhang_wei, title="华东的待办", customer=east_customer)
    assert_error(south_api.get(f"/followups/{followup.pk}"), 404)
    assert_error(south_api.delete(f"/followups/{followup.pk}"), 404)
    assert south_api.get("/followups").json()["items"] == []
    assert south_api.get("/followups", {"customer": east_customer.pk}).json()["items"] == []
    assert_error(south_api.get(f"/tasks/{task.pk}"), 404)
    assert_error(south_api.patch(f"/tasks/{task.pk}", {"version": task.version, "title": "x"}), 404)
    assert_error(south_api.post(f"/tasks/{task.pk}/done"), 404)
    assert_error(south_api.delete(f"/tasks/{task.pk}"), 404)
    assert south_api.get("/tasks", {"status": "all"}).json()["items"] == []
    response = south_api.post("/tasks", {"title": "抢客户", "customer_id": east_customer.pk})
    assert_error(response, 422, "customer_id")
    # The owner still has everything.
    assert rep_api.get(f"/followups/{followup.pk}").status_code == 200
    assert rep_api.get(f"/tasks/{task.pk}").status_code == 200


def test_manager_t_plus_one(org, rep_api, manager_api, east_customer):
    now = timezone.now()
    old = services.followup_create(
        actor=org.zhang_wei,
        customer=east_customer,
        kind="call",
        content="昨天的电话",
        at=now - dt.timedelta(days=1, hours=1),
    )
    today = services.followup_create(
        actor=org.zhang_wei, customer=east_customer, kind="visit", content="今天的拜访", at=now
    )
    seen = {f["id"] for f in manager_api.get("/followups").json()["items"]}
    assert seen == {old.pk, today.pk}  # live by default

    services.followup_settings_update(actor=org.admin, manager_view="t+1")
    assert [f["id"] for f in manager_api.get("/followups").json()["items"]] == [old.pk]
    assert manager_api.get(f"/followups/{old.pk}").status_code == 200
    assert_error(manager_api.get(f"/followups/{today.pk}"), 404)
    # The author always sees their own, and so do administrators.
    assert len(rep_api.get("/followups").json()["items"]) == 2
    assert len(api_client(org.admin).get("/followups").json()["items"]) == 2
    # A manager's own follow-up of today is not hidden from them.
    own = manager_api.post(
        "/followups", {"customer_id": east_customer.pk, "kind": "call", "content": "经理回访"}
    )
    assert own.status_code == 201
    assert own.json()["id"] in {f["id"] for f in manager_api.get("/followups").json()["items"]}


# ---------------------------------------------------------------- tasks


def test_task_crud_done_and_versions(org, rep_api, manager_api, east_customer):
    due = timezone.now() + dt.timedelta(days=1)
    response = rep_api.post(
        "/tasks",
        {
            "title": " 准备合同 ",
            "notes": "第二版",
            "due_at": iso(due),
            "customer_id": east_customer.pk,
        },
    )
    assert response.status_code == 201, response.content
    task = response.json()
    assert task["title"] == "准备合同"
    assert task["assignee_id"] == org.zhang_wei.pk
    assert task["customer"] == "杭州海康威视数字技术股份有限公司"
    assert task["done"] is False and task["source"] == ""
    tid = task["id"]

    patched = rep_api.patch(f"/tasks/{tid}", {"version": task["version"], "title": "准备合同终稿"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["title"] == "准备合同终稿"
    stale = assert_error(
        rep_api.patch(f"/tasks/{tid}", {"version": task["version"], "notes": "x"}), 409
    )
    assert stale["current"]["title"] == "准备合同终稿"
    version = patched.json()["version"]
    cleared = rep_api.patch(f"/tasks/{tid}", {"version": version, "due_at": None})
    assert cleared.status_code == 200 and cleared.json()["due_at"] is None
    assert_error(
        rep_api.patch(f"/tasks/{tid}", {"version": version + 1, "title": None}), 422, "title"
    )
    assert_error(rep_api.patch(f"/tasks/{tid}", {"version": 99, "title": " "}), 422, "title")

    done = rep_api.post(f"/tasks/{tid}/done")
    assert done.status_code == 200 and done.json()["done"] is True
    assert rep_api.get("/tasks").json()["items"] == []  # open by default
    assert [t["id"] for t in rep_api.get("/tasks", {"status": "done"}).json()["items"]] == [tid]
    assert rep_api.post(f"/tasks/{tid}/undone").json()["done"] is False
    assert [t["id"] for t in rep_api.get("/tasks", {"status": "all"}).json()["items"]] == [tid]
    assert_error(rep_api.get("/tasks", {"status": "later"}), 422, "status")

    # A manager gives a task to a report and sees the team's tasks; a rep cannot go upwards.
    given = manager_api.post("/tasks", {"title": "回访 A 级客户", "assignee_id": org.zhang_wei.pk})
    assert given.status_code == 201 and given.json()["assignee_id"] == org.zhang_wei.pk
    assert len(rep_api.get("/tasks", {"assignee": "me"}).json()["items"]) == 2
    team = manager_api.get("/tasks", {"assignee": org.zhang_wei.pk}).json()["items"]
    assert {t["id"] for t in team} == {tid, given.json()["id"]}
    upwards = rep_api.post("/tasks", {"title": "给经理", "assignee_id": org.li_na.pk})
    assert_error(upwards, 403, "assignee_id")
    assert_error(rep_api.post("/tasks", {"title": "x", "assignee_id": 10**15}), 422, "assignee_id")
    assert_error(rep_api.post("/tasks", {"title": ""}), 422, "title")
    assert_error(rep_api.post("/tasks", {"title": "x" * 201}), 422, "title")

    assert rep_api.delete(f"/tasks/{tid}").status_code == 204
    assert_error(rep_api.get(f"/tasks/{tid}"), 404)


def test_calendar_feed_url(org, rep_api):
    first = rep_api.get("/me/calendar")
    assert first.status_code == 200
    url = first.json()["url"]
    assert url.startswith("http") and url.endswith(".ics") and "/calendar/" in url
    assert rep_api.get("/me/calendar").json()["url"] == url
    fresh = rep_api.post("/me/calendar/regenerate").json()["url"]
    assert fresh != url and fresh.endswith(".ics")
    assert api_client(org.wang_fang).get("/me/calendar").json()["url"] not in (url, fresh)


# ---------------------------------------------------------------- hostile input


def _naughty_strings() -> list[str]:
    blns = json.loads((TESTDATA / "blns.json").read_text(encoding="utf-8"))
    picked = random.Random(4004).sample([s for s in blns if s], 24)
    extra = ["a\x00b", "\ud800", "\u202e\u202d", "x" * 301, "🎉" * 40, "  ", "9" * 40, "NaN",
             "'; DROP TABLE activities_followup; --", "%", "_", "me"]  # fmt: skip
    return picked + extra


NAUGHTY = _naughty_strings()


@pytest.mark.parametrize("text", NAUGHTY, ids=[f"s{i}" for i in range(len(NAUGHTY))])
def test_naughty_strings_never_5xx(org, rep_api, east_customer, text):
    for body in (
        {"customer_id": east_customer.pk, "kind": "note", "content": text},
        {
            "customer_id": east_customer.pk,
            "kind": text[:30],
            "content": "内容",
            "next_action": text,
            "location": text,
            "at": text,
        },
    ):
        response = rep_api.post("/followups", body)
        assert response.status_code < 500, response.content
        if response.status_code == 201:
            got = rep_api.get(f"/followups/{response.json()['id']}").json()
            assert got["content"] == response.json()["content"]
        else:
            assert_error(response, response.status_code)
    response = rep_api.post("/tasks", {"title": text, "notes": text})
    assert response.status_code < 500, response.content
    if response.status_code == 201:
        task = response.json()
        patched = rep_api.patch(f"/tasks/{task['id']}", {"version": task["version"], "notes": text})
        assert patched.status_code < 500
    else:
        assert_error(response, response.status_code)
    # A multipart body or a URL cannot carry a lone surrogate at all: the client replaces it.
    text = text.encode("utf-8", "replace").decode("utf-8")
    upload = _upload(
        rep_api,
        {"customer_id": east_customer.pk, "kind": "note", "content": text},
        [SimpleUploadedFile(text[:100] or "x", PNG, "image/png")],
    )
    assert upload.status_code < 500, upload.content
    for path, params in (
        ("/followups", {"kind": text, "author": text}),
        ("/followups", {"customer": text, "date_from": text, "cursor": text}),
        ("/tasks", {"status": text, "assignee": text, "customer": text}),
        ("/tasks", {"cursor": text}),
    ):
        response = rep_api.get(path, params)
        assert response.status_code in (200, 422), (path, response.status_code, response.content)
        if response.status_code == 422:
            assert_error(response, 422)
