"""`crm rules run [--now ISO] [--rule KEY] [--dry-run]`."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.notifications.models import Notification
from crm.reminders.models import RuleRun

RULES = [
    "no_follow_up",
    "follow_up_overdue",
    "contact_birthday",
    "festival",
    "task_due",
    "task_overdue",
]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("rules", "run", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def idle(org):
    c = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "北京锦程自动化设备有限公司", "level": "A"}
    )
    long_ago = timezone.make_aware(dt.datetime(2026, 1, 1, 9))
    Customer.objects.filter(pk=c.pk).update(created_at=long_ago, owned_since=long_ago)
    return c


def test_run_as_of_prints_a_line_per_rule(org, idle):
    output = run("--now", "2027-01-08T09:00")
    lines = output.splitlines()
    assert lines[0].startswith("as of 2027-01-08 09:00")
    for key in RULES:
        assert any(line.startswith(key) for line in lines), key
    nf = next(line for line in lines if line.startswith("no_follow_up"))
    assert "matched     1" in nf and "new     1" in nf and "notified     2" in nf
    assert "deferred" not in nf
    assert Notification.objects.filter(kind="no_follow_up").count() == 2
    as_of = RuleRun.objects.filter(rule__key="no_follow_up").get().as_of
    assert timezone.localtime(as_of).strftime("%Y-%m-%d %H:%M") == "2027-01-08 09:00"

    # Again: idempotent.
    again = run("--now", "2027-01-08T09:15", "--rule", "no_follow_up")
    assert "new     0" in again.splitlines()[1]
    assert Notification.objects.filter(kind="no_follow_up").count() == 2


def test_run_at_night_shows_deferral(org, idle):
    output = run("--now", "2027-01-08T23:00", "--rule", "no_follow_up")
    assert "deferred to 2027-01-11 09:00" in output


def test_dry_run_lists_samples_and_creates_nothing(org, idle):
    output = run("--now", "2027-01-08T09:00", "--dry-run", "--rule", "no_follow_up")
    assert "(dry run)" in output.splitlines()[0]
    assert "· " in output and "北京锦程自动化设备有限公司" in output
    assert not Notification.objects.exists()


def test_bad_arguments(org):
    with pytest.raises(CommandError, match="not an ISO date-time"):
        run("--now", "next friday")
    with pytest.raises(CommandError, match="nope"):
        run("--rule", "nope")


def test_bad_now_exits_non_zero_from_the_shell(tmp_path: Path):
    """The real command line: a bad --now fails with a message and a non-zero status
    (before touching the database, so no migration is needed)."""
    crm = Path(sys.executable).with_name("crm")
    env = {
        **os.environ,
        "CRM_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("CRM_DATABASE_URL", None)
    env.pop("CRM_TEST_DATABASE_URL", None)
    proc = subprocess.run(
        [str(crm), "rules", "run", "--skip-checks", "--now", "2027-13-45T99:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "--now" in proc.stderr and "2027-13-45T99:00" in proc.stderr
