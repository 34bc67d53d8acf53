"""The audit trail: an append-only hash chain that `verify` checks end to end."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.urls import reverse

from crm.access.tests.factories import PASSWORD, UserFactory
from crm.audit.models import AuditEntry, AuditHead
from crm.audit.services import (
    GENESIS,
    audit_record,
    audit_verify,
    audit_verify_and_record,
    diff,
    entry_digest,
)
from tests.testapp.models import Note


def write(n: int) -> list[AuditEntry]:
    return [
        audit_record(action="config", entity="setting", object_id=i, changes={"i": i})
        for i in range(1, n + 1)
    ]


def raw(sql: str, params: list) -> None:
    """Tamper the way an attacker with database access would: around the ORM."""
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(table)), params)


@pytest.mark.django_db
def test_chain_links_every_entry_to_the_previous_one():
    written = write(5)
    rows = list(AuditEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    for prev, entry in itertools.pairwise(rows):
        assert entry.prev_hash == prev.hash
    for entry in rows:
        assert entry.hash == entry_digest(entry)
    head = AuditHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (5, rows[-1].hash)
    assert [w.hash for w in written] == [r.hash for r in rows]
    result = audit_verify()
    assert (result.ok, result.checked, result.problems) == (True, 5, [])


@pytest.mark.django_db
def test_empty_chain_verifies():
    result = audit_verify()
    assert result.ok
    assert result.checked == 0


@pytest.mark.django_db
def test_values_survive_the_database_round_trip():
    """Whatever the JSON column does to the content (jsonb reorders keys…), the hash holds."""
    actor = UserFactory(username="李娜")
    audit_record(
        action="update",
        actor=actor,
        entity="note",
        object_id=7,
        object_repr="华信智能装备 · 报价",
        changes={
            "amount": [Decimal("12345.60"), Decimal("99.9")],
            "due": [dt.date(2026, 1, 31), None],
            "at": dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC),
            "z_ratio": 0.1,
            "a_tags": {"b": ["大客户", "华东"], "a": True},
            "big": 2**53,
        },
        ip="10.1.2.3",
    )
    entry = AuditEntry.objects.get()
    assert entry.changes["amount"] == ["12345.60", "99.9"]
    assert entry.changes["due"] == ["2026-01-31", None]
    assert entry.ip == "10.1.2.3"
    assert entry.actor_name == "李娜"
    assert audit_verify().ok


@pytest.mark.django_db
def test_record_with_object_and_anonymous_actor():
    note = Note.objects.create(title="季度计划")
    entry = audit_record(action="create", actor=AnonymousUser(), obj=note)
    assert (entry.entity, entry.object_id, entry.object_repr) == ("note", str(note.pk), "季度计划")
    assert entry.actor_id is None
    assert entry.actor_name == ""
    long = audit_record(action="config", entity="x" * 80, object_repr="长" * 500, ip="1" * 100)
    assert (len(long.entity), len(long.object_repr), len(long.ip)) == (50, 200, 64)
    assert audit_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("changes", '{"i": 999}'),
        ("actor_name", "mallory"),
        ("action", "login"),
        ("object_id", "42"),
        ("ip", "6.6.6.6"),
    ],
)
def test_changed_entry_is_reported(column, value):
    write(4)
    raw(f"UPDATE {{table}} SET {column} = %s WHERE seq = %s", [value, 2])  # noqa: S608
    result = audit_verify()
    assert not result.ok
    assert "#2 content changed after it was written" in result.problems
    assert len(result.problems) == 1


@pytest.mark.django_db
def test_rewritten_hash_breaks_the_next_link():
    write(4)
    raw("UPDATE {table} SET changes = %s, hash = %s WHERE seq = %s", ['{"i": 9}', "f" * 64, 2])
    problems = audit_verify().problems
    assert "#2 content changed after it was written" in problems
    assert "#3 does not follow the previous entry" in problems


@pytest.mark.django_db
@pytest.mark.parametrize("batch", [5000, 2])
def test_removed_middle_entry_is_reported(batch):
    write(6)
    raw("DELETE FROM {table} WHERE seq IN (%s, %s)", [3, 4])
    result = audit_verify(batch=batch)
    assert not result.ok
    assert result.problems == ["#3..#4 missing (removed entries)"]
    assert result.checked == 4


@pytest.mark.django_db
def test_removed_first_entry_is_reported():
    write(3)
    raw("DELETE FROM {table} WHERE seq = %s", [1])
    assert audit_verify().problems == ["#1..#1 missing (removed entries)"]


@pytest.mark.django_db
@pytest.mark.parametrize("removed", [1, 3])
def test_removed_last_entries_are_reported_by_the_head(removed):
    write(5)
    raw("DELETE FROM {table} WHERE seq > %s", [5 - removed])
    result = audit_verify()
    assert result.problems == [f"chain ends at #{5 - removed} but the head records #5"]


@pytest.mark.django_db
def test_everything_removed_is_reported():
    write(2)
    raw("DELETE FROM {table} WHERE seq > %s", [0])
    assert audit_verify().problems == ["chain ends at #0 but the head records #2"]


@pytest.mark.django_db
def test_appending_after_verify_keeps_the_chain():
    write(2)
    assert audit_verify().ok
    write(2)
    assert audit_verify().checked == 4


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    (entry,) = write(1)
    entry.changes = {"i": 2}
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert AuditEntry.objects.get().changes == {"i": 1}
    assert audit_verify().ok


@pytest.mark.django_db
def test_verify_and_record_writes_its_verdict():
    write(3)
    result = audit_verify_and_record()
    assert result.ok
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "verify"
    assert entry.actor_name == "system"
    assert entry.changes == {"ok": True, "checked": 3, "problems": []}
    raw("UPDATE {table} SET changes = %s WHERE seq = %s", ['{"i": 0}', 1])
    assert not audit_verify_and_record().ok
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.changes["ok"] is False
    assert entry.changes["problems"] == ["#1 content changed after it was written"]


def test_diff_lists_changed_fields_only():
    before = {"name": "华东", "amount": Decimal("1.0"), "parent_id": 3, "same": None}
    after = {"name": "华东大区", "amount": Decimal("1.0"), "parent_id": None, "same": None}
    assert diff(before, after) == {"name": ["华东", "华东大区"], "parent_id": [3, None]}


# ---------------------------------------------------------------- logins


@pytest.mark.django_db
def test_login_success_and_failure_are_audited_with_ip(client):
    user = UserFactory(username="li.na")
    url = reverse("login")
    response = client.post(
        url, {"username": "li.na", "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 200  # the form again, with an error
    failed = AuditEntry.objects.get(action="login_failed")
    assert failed.ip == "203.0.113.7"
    assert failed.changes == {"username": "li.na"}
    assert failed.actor_id is None
    assert "wrong" not in str(failed.changes)

    response = client.post(
        url, {"username": "li.na", "password": PASSWORD}, REMOTE_ADDR="203.0.113.8"
    )
    assert response.status_code == 302
    ok = AuditEntry.objects.get(action="login")
    assert (ok.ip, ok.actor_id, ok.object_id) == ("203.0.113.8", user.pk, str(user.pk))

    client.post(reverse("logout"), REMOTE_ADDR="203.0.113.8")
    assert AuditEntry.objects.filter(action="logout", actor=user).exists()
    assert audit_verify().ok


@pytest.mark.django_db
def test_login_with_unknown_user_is_audited(client):
    client.post(
        reverse("login"), {"username": "nobody", "password": "x"}, REMOTE_ADDR="198.51.100.1"
    )
    entry = AuditEntry.objects.get(action="login_failed")
    assert (entry.actor_name, entry.ip) == ("nobody", "198.51.100.1")


@pytest.mark.django_db
def test_removed_head_is_reported():
    write(3)
    AuditHead.objects.all().delete()
    assert audit_verify().problems == ["chain ends at #3 but its head record is missing"]


@pytest.mark.django_db
def test_changed_head_hash_is_reported():
    write(3)
    AuditHead.objects.filter(pk=1).update(last_hash="0" * 64)
    assert audit_verify().problems == ["chain ends at #3 but the head records another hash for it"]


@pytest.mark.django_db
def test_non_finite_numbers_are_stored_as_text():
    entry = audit_record(action="config", changes={"ratio": float("nan"), "max": float("inf")})
    assert AuditEntry.objects.get(pk=entry.pk).changes == {"ratio": "nan", "max": "inf"}
    assert audit_verify().ok
