"""The reminder-rules API: administrators only (404 for everyone else); edit with a version;
run as of a chosen time, idempotent per occurrence."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from django.utils import timezone

from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.notifications.models import Notification
from tests.api.clients import api_client, assert_error, walk_pages

TESTDATA = Path("/work/shared/testdata")


def working_moment() -> dt.datetime:
    """A past weekday at 10:00 (working time: nothing is deferred)."""
    day = timezone.localdate() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


@pytest.fixture
def admin_api(org):
    return api_client(org.admin)


def _rule(admin_api, key: str) -> dict:
    return next(r for r in walk_pages(admin_api, "/reminder-rules") if r["key"] == key)


def test_only_administrators(org, admin_api):
    rule = _rule(admin_api, "no_follow_up")
    for user in (org.li_na, org.zhang_wei, org.director, org.liu_yang):
        client = api_client(user)
        assert_error(client.get("/reminder-rules"), 404)
        assert_error(client.get(f"/reminder-rules/{rule['id']}"), 404)
        response = client.patch(f"/reminder-rules/{rule['id']}", {"version": rule["version"]})
        assert_error(response, 404)
        assert_error(client.post("/reminder-rules/run", {"dry_run": True}), 404)
    assert Notification.objects.count() == 0


def test_list_get_and_update(org, admin_api):
    rules = walk_pages(admin_api, "/reminder-rules", {"limit": 2})
    keys = {r["key"] for r in rules}
    assert {"no_follow_up", "follow_up_overdue", "contact_birthday", "festival"} <= keys
    assert {"task_due", "task_overdue"} <= keys
    rule = next(r for r in rules if r["key"] == "no_follow_up")
    assert rule["params"]["days"] == 7 and rule["defaults"]["days"] == 7
    assert rule["description"] and rule["last_run"] is None
    assert admin_api.get(f"/reminder-rules/{rule['id']}").json()["name"] == rule["name"]

    url = f"/reminder-rules/{rule['id']}"
    params = {**rule["params"], "days": 5, "high_value_levels": ["A", "B"]}
    response = admin_api.patch(url, {"version": rule["version"], "params": params, "name": "5 天"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["params"]["days"] == 5 and body["name"] == "5 天"
    assert body["params"]["high_value_levels"] == ["A", "B"]
    stale = assert_error(
        admin_api.patch(url, {"version": rule["version"], "is_active": False}), 409
    )
    assert stale["current"]["params"]["days"] == 5
    version = body["version"]
    assert_error(
        admin_api.patch(url, {"version": version, "params": {"days": "x"}}), 422, "params.days"
    )
    assert_error(
        admin_api.patch(url, {"version": version, "params": {"days": -1}}), 422, "params.days"
    )
    assert_error(admin_api.patch(url, {"version": version, "params": {"weeks": 1}}), 422, "params")
    assert_error(admin_api.patch(url, {"version": version, "name": " "}), 422, "name")
    assert_error(admin_api.patch(url, {"version": version, "name": None}), 422, "name")
    off = admin_api.patch(url, {"version": version, "is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert_error(admin_api.get("/reminder-rules/999999"), 404)

    festival = _rule(admin_api, "festival")
    furl = f"/reminder-rules/{festival['id']}"
    bad = {"version": festival["version"], "params": {"festivals": [{"a": 1}, "x"]}}
    assert_error(admin_api.patch(furl, bad), 422, "params.festivals")
    good = {"version": festival["version"], "params": {"festivals": [["2027-02-06", "春节"]]}}
    assert admin_api.patch(furl, good).json()["params"]["festivals"] == [["2027-02-06", "春节"]]


def test_run_as_of_a_chosen_time(org, admin_api):
    now = working_moment()
    customer = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "苏州工业园区精密制造有限公司", "level": "A"}
    )
    # Owned since 30 days before the chosen time and never followed up.
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=now - dt.timedelta(days=30), created_at=now - dt.timedelta(days=30)
    )
    body = {"now": now.isoformat(), "rules": ["no_follow_up"]}

    preview = admin_api.post("/reminder-rules/run", {**body, "dry_run": True})
    assert preview.status_code == 200, preview.content
    (result,) = preview.json()
    assert result["rule"] == "no_follow_up"
    assert (result["matched"], result["new"], result["notified"]) == (1, 1, 0)
    assert "苏州工业园区精密制造有限公司" in result["samples"][0]
    assert result["deferred_to"] is None and result["error"] == ""
    assert Notification.objects.count() == 0

    (result,) = admin_api.post("/reminder-rules/run", body).json()
    # The owner, and (level A) the owner's manager.
    assert (result["matched"], result["new"], result["notified"]) == (1, 1, 2)
    rep = api_client(org.zhang_wei)
    titles = [n["title"] for n in rep.get("/notifications").json()["items"]]
    assert titles == ["客户「苏州工业园区精密制造有限公司」已 30 天未跟进"]
    manager = api_client(org.li_na).get("/notifications").json()["items"]
    assert len(manager) == 1 and "负责人" in manager[0]["title"]

    # Running again (later the same day, or as of the same time) notifies nothing new.
    for again in (now, now + dt.timedelta(minutes=15)):
        (result,) = admin_api.post("/reminder-rules/run", {**body, "now": again.isoformat()}).json()
        assert (result["matched"], result["new"], result["notified"]) == (1, 0, 0)
    assert rep.get("/notifications/unread-count").json() == {"count": 1}

    listed = _rule(admin_api, "no_follow_up")
    assert listed["last_run"]["matched"] == 1 and listed["last_run"]["notified"] == 0

    # A run outside working time is deferred to the next working morning.
    saturday = now
    while saturday.weekday() != 5:
        saturday += dt.timedelta(days=1)
    deferred = admin_api.post(
        "/reminder-rules/run", {"now": saturday.isoformat(), "rules": ["task_due"], "dry_run": True}
    ).json()[0]
    assert deferred["deferred_to"] is not None
    assert dt.datetime.fromisoformat(deferred["deferred_to"]).weekday() == 0

    # All active rules, naive time = local time.
    results = admin_api.post("/reminder-rules/run", {"now": "2027-01-08T09:00", "dry_run": True})
    assert results.status_code == 200
    assert {r["rule"] for r in results.json()} >= {"no_follow_up", "task_overdue"}


def test_run_validation(org, admin_api):
    assert_error(admin_api.post("/reminder-rules/run", {"rules": ["nope"]}), 422, "rules")
    assert_error(admin_api.post("/reminder-rules/run", {"now": "tomorrow"}), 422, "now")
    assert_error(admin_api.post("/reminder-rules/run", {"now": "0001-01-01T00:00"}), 422, "now")
    assert_error(admin_api.post("/reminder-rules/run", {"dry_run": "perhaps"}), 422, "dry_run")


def _naughty() -> list[str]:
    blns = json.loads((TESTDATA / "blns.json").read_text(encoding="utf-8"))
    picked = random.Random(44).sample([s for s in blns if s], 12)
    return [*picked, "a\x00b", "\ud800", "x" * 200]


@pytest.mark.parametrize("text", _naughty(), ids=lambda s: f"len{len(s)}")
def test_naughty_input_never_5xx(org, admin_api, text):
    rule = _rule(admin_api, "no_follow_up")
    url = f"/reminder-rules/{rule['id']}"
    for body in (
        {"version": rule["version"], "name": text},
        {"version": rule["version"], "params": {"high_value_levels": [text], "days": text}},
        {"version": rule["version"], "params": {"high_value_levels": text}},
        {"version": rule["version"], "params": {text[:50] or "k": 1}},
    ):
        response = admin_api.patch(url, body)
        assert response.status_code < 500, response.content
        if response.status_code == 200:
            rule = response.json()
        else:
            assert_error(response, response.status_code)
    response = admin_api.post("/reminder-rules/run", {"rules": [text[:50]], "dry_run": True})
    assert response.status_code < 500, response.content
