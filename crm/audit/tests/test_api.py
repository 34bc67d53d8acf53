"""The audit trail API: administrators browse and verify it; everyone else gets 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.access.services import department_create
from crm.audit.models import AuditEntry
from crm.audit.services import audit_record
from tests.api.clients import ApiClient, api_client, assert_error, walk_pages


@pytest.fixture
def admin_api(org):
    return api_client(org.admin)


def test_admin_lists_newest_first_and_pages_through_everything(org, admin_api):
    for i in range(12):
        department_create(actor=org.admin, name=f"临时部门{i}")
    items = walk_pages(admin_api, "/audit", {"limit": 5})
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == len(set(seqs))
    assert set(seqs) == set(AuditEntry.objects.values_list("seq", flat=True))
    first = items[0]
    assert set(first) >= {"seq", "at", "actor_name", "action", "entity", "object_id", "changes"}


def test_filters(org, admin_api):
    dept = department_create(actor=org.admin, name="审计测试部")
    ApiClient().post("/auth/token", {"username": "li.na", "password": "wrong"})

    created = walk_pages(admin_api, "/audit", {"action": "create", "entity": "department"})
    assert str(dept.pk) in [e["object_id"] for e in created]
    assert all(e["action"] == "create" and e["entity"] == "department" for e in created)

    by_object = walk_pages(admin_api, "/audit", {"entity": "department", "object_id": dept.pk})
    assert [e["object_id"] for e in by_object] == [str(dept.pk)]

    failed = walk_pages(admin_api, "/audit", {"action": "login_failed", "actor": "li.na"})
    assert len(failed) == 1 and failed[0]["changes"] == {"username": "li.na"}

    today = timezone.localdate()
    assert walk_pages(admin_api, "/audit", {"date_from": today.isoformat()})
    assert (
        walk_pages(admin_api, "/audit", {"date_to": (today - dt.timedelta(days=1)).isoformat()})
        == []
    )
    assert walk_pages(admin_api, "/audit", {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert walk_pages(admin_api, "/audit", {"action": "no-such-action"}) == []


@pytest.mark.parametrize(
    "params,field",
    [
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2026-02-30"}, "date_to"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "WyJhYmMiXQ"}, "cursor"),  # ["abc"]: a string where a number belongs
        ({"limit": "ten"}, "limit"),
        ({"object_id": "x" * 65}, "object_id"),
        ({"actor": "a\x00b"}, "actor"),
    ],
)
def test_bad_filters_are_422(org, admin_api, params, field):
    assert_error(admin_api.get("/audit", params), 422, field)


def test_non_admins_get_404(org):
    for user in (org.zhang_wei, org.li_na, org.director):
        client = api_client(user)
        assert_error(client.get("/audit"), 404)
        assert_error(client.post("/audit/verify"), 404)
    assert not AuditEntry.objects.filter(action="verify").exists()


def test_anonymous_gets_401(org):
    assert_error(ApiClient().get("/audit"), 401)
    assert_error(ApiClient().post("/audit/verify"), 401)


def test_verify_ok_and_recorded(org, admin_api):
    department_create(actor=org.admin, name="校验部")
    count = AuditEntry.objects.count()
    response = admin_api.post("/audit/verify")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "checked": count, "problems": []}
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "verify"
    assert entry.changes["ok"] is True


def test_verify_reports_a_changed_entry(org, admin_api):
    entry = audit_record(action="config", entity="setting", changes={"k": "v"})
    # Tampering bypasses the model's append-only guard, as a direct SQL edit would.
    AuditEntry.objects.filter(pk=entry.pk).update(changes={"k": "tampered"})
    body = admin_api.post("/audit/verify").json()
    assert body["ok"] is False
    assert any(f"#{entry.seq}" in p for p in body["problems"])
