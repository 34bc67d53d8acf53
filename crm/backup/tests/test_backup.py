"""Backup, verify and restore on the database the suite runs on (SQLite, or PostgreSQL with
scripts/pg-tmp.sh), retention, refusal to overwrite, damaged backups, the schedule, the
backup page and `crm check`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.backup import config
from crm.backup.archive import MANIFEST
from crm.backup.databases import BackupError, SqliteDatabase, current_database
from crm.backup.health import backup_check
from crm.backup.models import BackupKind, BackupRun, BackupStatus
from crm.backup.services import (
    backup_create,
    backup_restore,
    backup_run,
    backup_scheduled,
    backup_verify,
    backups_prune,
)
from crm.core.config import setting_set
from crm.notifications.models import Notification

PG = connection.vendor == "postgresql"


def _customers(org, n=3):
    from crm.customers.services import customer_create

    return [
        customer_create(
            actor=org.zhang_wei,
            data={"name": f"备份测试客户{i}有限公司", "notes": "=1+1 与 '引号' 和 换行\n"},
            contacts=[{"name": f"联系人{i}", "mobile": f"1380013800{i}"}],
        )
        for i in range(n)
    ]


@pytest.fixture
def media(tmp_path, settings):
    root = tmp_path / "media"
    (root / "followups" / "2026" / "05").mkdir(parents=True)
    (root / "followups" / "2026" / "05" / "现场照片.jpg").write_bytes(b"\xff\xd8 jpeg bytes")
    (root / "contract.pdf").write_bytes(b"%PDF-1.7 " + b"x" * 5000)
    settings.MEDIA_ROOT = root
    return root


@contextlib.contextmanager
def restore_target(tmp_path):
    """An empty database of the suite's vendor to restore into."""
    if PG:
        with current_database().scratch() as scratch:
            yield scratch
    else:
        yield SqliteDatabase(str(tmp_path / "restored.sqlite3"))


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", ["backup-dir", "backup.tar.gz", "backup.tar"])
def test_backup_verify_restore_round_trip(transactional_db, org, media, tmp_path, name):
    _customers(org)
    path = tmp_path / "out" / name
    result = backup_create(path=path)
    assert path.exists()
    manifest = result.manifest
    assert manifest["vendor"] == connection.vendor
    assert manifest["tables"]["customers_customer"]["rows"] == 3
    assert manifest["tables"]["customers_contact"]["rows"] == 3
    assert manifest["media"]["count"] == 2
    assert result.rows > 0 and result.size > 0

    verified = backup_verify(path=path)
    assert verified.ok, verified.problems
    assert verified.rows == result.rows and verified.files == 2

    target_media = tmp_path / "restored-media"
    with restore_target(tmp_path) as target:
        restored = backup_restore(path=path, database=target, media_root=target_media)
        assert restored.rows == result.rows
        stats = target.stats()
        assert stats == manifest["tables"]
    assert (target_media / "followups/2026/05/现场照片.jpg").read_bytes() == b"\xff\xd8 jpeg bytes"
    assert (target_media / "contract.pdf").stat().st_size == 5009


def test_backup_is_private_and_never_half_written(transactional_db, org, media, tmp_path):
    path = tmp_path / "b.tar.gz"
    backup_create(path=path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(BackupError, match="already exists"):
        backup_create(path=path)
    assert not list(tmp_path.glob(".crm-backup-*"))
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_directory_that_is_not_empty_is_refused(db, tmp_path, media):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(BackupError, match="already exists"):
        backup_create(path=tmp_path / "busy", database=SqliteDatabase(str(tmp_path / "a.db")))


# ---------------------------------------------------------------- refusal, force


def test_restore_refuses_a_database_with_data_unless_forced(transactional_db, org, media, tmp_path):
    _customers(org, 2)
    path = tmp_path / "b"
    backup_create(path=path)
    target_media = tmp_path / "m2"
    with restore_target(tmp_path) as target:
        backup_restore(path=path, database=target, media_root=target_media)
        (target_media / "new-upload.txt").write_text("after the backup")
        with pytest.raises(BackupError, match="refusing to overwrite"):
            backup_restore(path=path, database=target, media_root=target_media)
        result = backup_restore(path=path, database=target, media_root=target_media, force=True)
        assert target.stats()["customers_customer"]["rows"] == 2
    assert not (target_media / "new-upload.txt").exists()
    aside = Path(result.moved_aside[0])
    assert (aside / "new-upload.txt").read_text() == "after the backup"


def test_restore_of_another_vendor_is_refused(transactional_db, tmp_path, media):
    path = tmp_path / "b"
    backup_create(path=path)
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["vendor"] = "oracle"
    (path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="oracle backup"):
        backup_restore(path=path, database=SqliteDatabase(str(tmp_path / "t.sqlite3")))


def test_cli_restore_refuses_the_live_database(transactional_db, org, tmp_path, media):
    path = tmp_path / "b.tar.gz"
    call_command("backup", str(path))
    # The suite's own database holds the org: without --force nothing is touched.
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("restore", str(path))


# ---------------------------------------------------------------- damaged backups


def test_verify_detects_a_damaged_database_file(transactional_db, org, tmp_path, media):
    path = tmp_path / "b"
    backup_create(path=path)
    manifest = json.loads((path / MANIFEST).read_text())
    db_file = path / manifest["database"]["file"]
    data = bytearray(db_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db_file.write_bytes(bytes(data))
    result = backup_verify(path=path)
    assert not result.ok
    assert any("checksum differs" in p for p in result.problems)
    with pytest.raises(CommandError, match="verify FAILED"):
        call_command("backup", "--verify", str(path))


def test_verify_detects_counts_and_checksums_that_do_not_match(
    transactional_db, org, tmp_path, media
):
    path = tmp_path / "b"
    backup_create(path=path)
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["tables"]["access_user"]["rows"] += 1
    manifest["tables"]["access_department"]["checksum"] = "0" * 64
    manifest["tables"]["no_such_table"] = {"rows": 1, "checksum": "0" * 64}
    (path / MANIFEST).write_text(json.dumps(manifest))
    problems = backup_verify(path=path).problems
    assert any(p.startswith("table access_user:") and "rows" in p for p in problems)
    assert any(p.startswith("table access_department: checksum") for p in problems)
    assert any(p.startswith("table no_such_table: missing") for p in problems)


def test_verify_detects_damaged_attachments_and_archives(transactional_db, tmp_path, media):
    path = tmp_path / "b"
    backup_create(path=path)
    (path / "media" / "contract.pdf").write_bytes(b"changed")
    (path / "media" / "extra.txt").write_text("x")
    problems = backup_verify(path=path).problems
    assert "media/contract.pdf: checksum differs from the manifest" in problems
    assert "media/extra.txt: not in the manifest" in problems

    tar = tmp_path / "c.tar.gz"
    backup_create(path=tar)
    tar.write_bytes(tar.read_bytes()[:200])
    assert not backup_verify(path=tar).ok
    (tmp_path / "notes.txt").write_text("not a backup")
    assert not backup_verify(path=tmp_path / "notes.txt").ok
    assert "does not exist" in backup_verify(path=tmp_path / "nope").problems[0]


def test_tar_with_a_path_outside_is_not_extracted(db, tmp_path):
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "payload.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(payload, arcname="../escaped.txt")
    result = backup_verify(path=evil)
    assert not result.ok
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_cli_backup_and_verify(transactional_db, org, tmp_path, media, capsys):
    path = tmp_path / "cli.tar.gz"
    call_command("backup", str(path))
    out = capsys.readouterr().out
    assert "backup written" in out and str(path) in out
    call_command("backup", "--verify", str(path))
    assert "verify ok" in capsys.readouterr().out
    run = BackupRun.objects.get()
    assert run.kind == BackupKind.CLI and run.status == BackupStatus.OK
    assert run.path == str(path)


# ---------------------------------------------------------------- retention and schedule


def _touch(directory: Path, stamp: str) -> Path:
    path = directory / f"crm-backup-{stamp}.tar.gz"
    path.write_bytes(b"x")
    return path


def test_retention_keeps_the_newest_of_each_of_the_last_days(db, tmp_path):
    d = tmp_path
    keep = [
        _touch(d, "20260510-023000"),
        _touch(d, "20260509-023000"),
        _touch(d, "20260508-180000"),
    ]
    gone = [
        _touch(d, "20260510-010000"),  # an earlier one the same day
        _touch(d, "20260508-023000"),
        _touch(d, "20260507-023000"),
        _touch(d, "20260401-023000"),
    ]
    other = d / "my-notes.tar.gz"
    other.write_text("not ours")
    removed = backups_prune(directory=d, keep=3)
    assert sorted(removed) == sorted(gone)
    assert all(p.exists() for p in keep) and other.exists()


def test_scheduled_backup_runs_once_a_day_after_its_time(transactional_db, org, tmp_path, media):
    setting_set(
        actor=org.admin,
        key=config.SCHEDULE,
        value={"enabled": True, "time": "02:30", "keep": 2, "directory": str(tmp_path / "bk")},
    )
    tz = timezone.get_current_timezone()
    # The server was down at 02:30: the day's backup is taken at the next look.
    first = dt.datetime(2026, 5, 9, 22, 0, tzinfo=tz)
    run = backup_scheduled(now=first)
    assert run is not None and run.status == BackupStatus.OK
    assert backup_scheduled(now=first + dt.timedelta(minutes=10)) is None
    # Before 02:30 the next day, that slot is still the one: nothing to do.
    assert backup_scheduled(now=dt.datetime(2026, 5, 10, 2, 0, tzinfo=tz)) is None
    for day in (10, 11):
        run = backup_scheduled(now=dt.datetime(2026, 5, day, 2, 40, tzinfo=tz))
        assert run is not None and run.status == BackupStatus.OK
    # keep=2: the newest of the last two days.
    names = sorted(p.name for p in (tmp_path / "bk").glob("crm-backup-*.tar.gz"))
    assert names == ["crm-backup-20260510-024000.tar.gz", "crm-backup-20260511-024000.tar.gz"]
    assert run.pruned == 1
    assert BackupRun.objects.filter(kind=BackupKind.SCHEDULED).count() == 3


def test_scheduled_backup_can_be_switched_off(db, org):
    setting_set(
        actor=org.admin,
        key=config.SCHEDULE,
        value={"enabled": False, "time": "02:30", "keep": 7, "directory": ""},
    )
    assert backup_scheduled(now=timezone.now()) is None


def test_failed_backup_is_recorded_reported_and_fails_check(
    transactional_db, org, tmp_path, monkeypatch
):
    def broken(**kwargs):
        raise BackupError("disk full")

    monkeypatch.setattr("crm.backup.services.backup_create", broken)
    run = backup_run(kind=BackupKind.SCHEDULED, directory=tmp_path)
    assert run.status == BackupStatus.FAILED and "disk full" in run.error
    assert Notification.objects.filter(user=org.admin, kind="backup_failed").exists()
    check = backup_check()
    assert not check.ok and "disk full" in check.detail
    with pytest.raises(CommandError):
        call_command("crm_check")


def test_check_reports_the_last_backup(transactional_db, org, tmp_path, media, settings):
    assert backup_check().ok  # none yet: not a failure
    run = backup_run(kind=BackupKind.MANUAL, actor=org.admin, directory=tmp_path)
    check = backup_check()
    assert check.ok and run.path in check.detail
    BackupRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - dt.timedelta(days=3))
    assert not backup_check().ok


# ---------------------------------------------------------------- the page


def test_backup_page_for_admins_only(client, org):
    client.force_login(org.li_na)
    assert client.get(reverse("backup_settings")).status_code == 404
    assert client.post(reverse("backup_now")).status_code == 404
    client.force_login(org.admin)
    page = client.get(reverse("backup_settings")).content.decode()
    assert "每日自动备份" in page and "立即备份" in page


def test_backup_page_saves_the_schedule(client, org, tmp_path):
    client.force_login(org.admin)
    target = tmp_path / "nas"
    response = client.post(
        reverse("backup_settings"),
        {"enabled": "on", "time_of_day": "23:15", "keep": "14", "directory": str(target)},
    )
    assert response.status_code == 302
    assert config.schedule() == {
        "enabled": True,
        "time": "23:15",
        "keep": 14,
        "directory": str(target),
    }
    assert config.target_directory() == target and target.is_dir()
    bad = client.post(
        reverse("backup_settings"),
        {"time_of_day": "25:00", "keep": "0", "directory": "relative/dir"},
    )
    assert bad.status_code == 400
    assert config.schedule()["time"] == "23:15"


def test_backup_now_button(
    transactional_db, client, org, tmp_path, media, django_capture_on_commit_callbacks
):
    setting_set(
        actor=org.admin,
        key=config.SCHEDULE,
        value={"enabled": True, "time": "02:30", "keep": 7, "directory": str(tmp_path)},
    )
    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("backup_now"))
    assert response.status_code == 302
    run = BackupRun.objects.get()
    assert run.kind == BackupKind.MANUAL and run.status == BackupStatus.OK, run.error
    assert run.actor == org.admin
    page = client.get(reverse("backup_settings")).content.decode()
    assert Path(run.path).name in page


def test_sqlite_backup_is_an_online_snapshot(tmp_path):
    """A writer keeps writing while the backup runs: the copy is still one consistent state."""
    import sqlite3
    import threading

    source = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(str(i),) for i in range(20000)])
    conn.commit()
    stop = threading.Event()

    def write() -> None:
        writer = sqlite3.connect(source, timeout=30)
        while not stop.is_set():
            writer.execute("INSERT INTO t (v) VALUES ('more')")
            writer.commit()
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        stats = SqliteDatabase(str(source)).dump(tmp_path / "copy.sqlite3")
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == stats["t"]["rows"]
    assert stats["t"]["rows"] >= 20000
    shutil.rmtree(tmp_path, ignore_errors=True)
