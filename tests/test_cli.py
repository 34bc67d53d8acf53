"""The real `crm` console script, run as a user would, against a throwaway SQLite data dir.

Each `crm` call is a fresh process (a couple of seconds), so the steps share one data dir
and run as one journey; the production-mode check needs no database at all.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CRM = Path(sys.executable).with_name("crm")
STRONG = "Str0ng-pass-2026"

# Never let the test runner's own settings leak into the child processes.
DROP = (
    "DJANGO_SETTINGS_MODULE",
    "CRM_DATABASE_URL",
    "CRM_TEST_DATABASE_URL",
    "CRM_ENV",
    "CRM_SECRET_KEY",
    "CRM_ENCRYPTION_KEY",
    "CRM_DEMO_PASSWORD",
)


def crm(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP}
    env.update({"CRM_DATA_DIR": str(data_dir), "CRM_LOG_LEVEL": "WARNING", **extra_env})
    return subprocess.run(
        [str(CRM), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def query(data_dir: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(data_dir / "crm.sqlite3") as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crm-cli")
    ok(crm(path, "migrate"))
    return path


def test_the_console_script_exists():
    assert CRM.exists(), f"{CRM} missing: run `make install`"


def test_admin_demo_check_and_audit_journey(data_dir):
    # createadmin: non-interactive; a weak password is refused with the validator's reason.
    out = ok(crm(data_dir, "createadmin", "--username", "boss", "--password", STRONG))
    assert "boss" in out
    weak = crm(data_dir, "createadmin", "--username", "boss2", "--password", "12345678")
    assert weak.returncode != 0
    assert "password" in weak.stderr
    assert "Traceback" not in weak.stderr
    assert query(data_dir, "SELECT COUNT(*) FROM access_user WHERE username = 'boss2'") == [(0,)]

    # demo: idempotent.
    ok(crm(data_dir, "demo"))
    users = query(data_dir, "SELECT COUNT(*) FROM access_user")
    ok(crm(data_dir, "demo"))
    assert query(data_dir, "SELECT COUNT(*) FROM access_user") == users
    names = {row[0] for row in query(data_dir, "SELECT username FROM access_user")}
    assert {"boss", "admin", "li.na", "zhang.wei", "wang.fang", "zhao.min"} <= names
    assert {"chen.jing", "liu.yang"} <= names
    logins = ok(crm(data_dir, "demo", "--print-logins"))
    for username in ("admin", "li.na", "zhang.wei", "wang.fang", "liu.yang"):
        assert username in logins

    # check, and the audit chain (createadmin wrote to it).
    report = ok(crm(data_dir, "check"))
    assert "FAIL" not in report
    assert "database" in report
    entries = query(data_dir, "SELECT COUNT(*) FROM audit_auditentry")[0][0]
    assert entries >= 1
    assert "audit chain OK" in ok(crm(data_dir, "audit", "verify"))

    # Change one entry behind the application's back: verify must fail and say which.
    with sqlite3.connect(data_dir / "crm.sqlite3") as db:
        db.execute("UPDATE audit_auditentry SET changes = '{\"tampered\": true}' WHERE seq = 1")
    broken = crm(data_dir, "audit", "verify")
    assert broken.returncode != 0
    assert "#1 content changed" in broken.stderr


def test_production_without_keys_is_a_clear_start_up_error(tmp_path):
    result = crm(tmp_path, "check", CRM_ENV="production")
    assert result.returncode == 2
    assert "CRM_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "secret_key").exists()
