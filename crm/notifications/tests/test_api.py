"""The notifications API: the caller's own notifications only, list, unread count, mark read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.notifications.services import notify
from tests.api.clients import api_client, assert_error, walk_pages


@pytest.fixture
def inbox(org):
    now = timezone.now()
    mine = [
        notify(
            user=org.zhang_wei,
            kind="no_follow_up",
            title=f"客户{i}已 7 天未跟进",
            body="建议今天联系",
            url="/customers/1/",
            now=now - dt.timedelta(minutes=10 - i),
        )
        for i in range(3)
    ]
    later = notify(
        user=org.zhang_wei,
        kind="task_due",
        title="明天才显示",
        deliver_after=now + dt.timedelta(days=1),
    )
    theirs = notify(user=org.wang_fang, kind="system", title="华南的通知")
    return {"mine": mine, "later": later, "theirs": theirs}


def test_list_count_and_mark_read(org, inbox):
    rep = api_client(org.zhang_wei)
    items = walk_pages(rep, "/notifications", {"limit": 2})
    assert [n["id"] for n in items] == [n.pk for n in reversed(inbox["mine"])]  # newest first
    first = items[0]
    assert first["kind"] == "no_follow_up" and first["kind_label"] == "客户长期未跟进"
    assert first["read"] is False and first["url"] == "/customers/1/"
    assert rep.get("/notifications/unread-count").json() == {"count": 3}

    ids = [inbox["mine"][0].pk, inbox["theirs"].pk, inbox["later"].pk, 10**15]
    assert rep.post("/notifications/read", {"ids": ids}).json() == {"updated": 1}
    assert rep.post("/notifications/read", {"ids": ids}).json() == {"updated": 0}
    assert rep.get("/notifications/unread-count").json() == {"count": 2}
    unread = rep.get("/notifications", {"unread": "true"}).json()["items"]
    assert {n["id"] for n in unread} == {n.pk for n in inbox["mine"][1:]}
    read = [n for n in rep.get("/notifications").json()["items"] if n["read"]]
    assert [n["id"] for n in read] == [inbox["mine"][0].pk] and read[0]["read_at"]

    assert rep.post("/notifications/read", {"all": True}).json() == {"updated": 2}
    assert rep.get("/notifications/unread-count").json() == {"count": 0}
    assert_error(rep.post("/notifications/read", {}), 422, "ids")
    assert_error(rep.post("/notifications/read", {"ids": ["x"]}), 422)
    assert_error(rep.get("/notifications", {"cursor": "garbage"}), 422, "cursor")


def test_another_users_notifications_are_invisible(org, inbox):
    south = api_client(org.wang_fang)
    items = south.get("/notifications").json()["items"]
    assert [n["id"] for n in items] == [inbox["theirs"].pk]
    mine = [n.pk for n in inbox["mine"]]
    assert south.post("/notifications/read", {"ids": mine}).json() == {"updated": 0}
    assert api_client(org.zhang_wei).get("/notifications/unread-count").json() == {"count": 3}
    # "all" means all of the caller's own.
    assert south.post("/notifications/read", {"all": True}).json() == {"updated": 1}
    assert api_client(org.zhang_wei).get("/notifications/unread-count").json() == {"count": 3}
    manager = api_client(org.li_na)  # a manager does not see the team's notifications either
    assert manager.get("/notifications").json()["items"] == []


def test_naughty_input_never_5xx(org, inbox):
    rep = api_client(org.zhang_wei)
    for params in (
        {"unread": "maybe"},
        {"cursor": "'; DROP TABLE x; --"},
        {"limit": "9" * 40},
        {"limit": "-1"},
    ):
        response = rep.get("/notifications", params)
        assert response.status_code in (200, 422), response.content
    for body in ({"ids": [2**70]}, {"ids": [-1, 0]}, {"all": "yes"}, [], "null", {"ids": None}):
        response = rep.post("/notifications/read", body)
        assert response.status_code in (200, 400, 422), response.content
