"""Health checks: GET /healthz (quick) and the deep checks behind `crm check`."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.audit.models import AuditEntry
from crm.audit.services import audit_record
from crm.core import health
from crm.core.health import database_check, health_checks


def _broken_cursor(*args, **kwargs):
    raise RuntimeError("connection refused")


@pytest.mark.django_db
def test_database_check_ok():
    check = database_check()
    assert check.ok
    assert check.name == "database"
    assert connection.vendor in check.detail


@pytest.mark.django_db
def test_database_down_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(health.connection, "cursor", _broken_cursor)
    check = database_check()
    assert not check.ok
    assert "connection refused" in check.detail


@pytest.mark.django_db
def test_quick_checks_are_only_the_database():
    assert [c.name for c in health_checks()] == ["database"]


@pytest.mark.django_db
def test_deep_checks(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    audit_record(action="config", entity="x")
    checks = {c.name: c for c in health_checks(deep=True)}
    for name in ("database", "migrations", "data dir", "mode", "audit chain"):
        assert checks[name].ok, (name, checks[name].detail)
    assert checks["migrations"].detail == "up to date"
    assert checks["audit chain"].detail == "1 entries"
    assert ("sqlite journal" in checks) is (connection.vendor == "sqlite")
    assert not list(tmp_path.iterdir())  # the write probe cleans up after itself


@pytest.mark.django_db
def test_deep_checks_report_problems(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "missing" / "dir"
    audit_record(action="config", entity="x")
    AuditEntry.objects.filter(seq=1).update(actor_name="mallory")
    checks = {c.name: c for c in health_checks(deep=True)}
    assert not checks["data dir"].ok
    assert not checks["audit chain"].ok
    assert "#1 content changed" in checks["audit chain"].detail


@pytest.mark.django_db
def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health.connection, "cursor", _broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"


@pytest.mark.django_db
def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
