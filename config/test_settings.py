"""Test settings: fast hasher, locmem cache, immediate tasks, no network."""

import os
import tempfile

os.environ.setdefault("CRM_DATA_DIR", tempfile.mkdtemp(prefix="crm-test-"))
if os.environ.get("CRM_TEST_DATABASE_URL"):
    os.environ["CRM_DATABASE_URL"] = os.environ["CRM_TEST_DATABASE_URL"]

from config.settings import *  # noqa: F403
from config.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_CONFIGURED = True
API_RATE_LIMIT = "100000/min"
API_ANON_RATE_LIMIT = "100000/min"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Each xdist worker gets its own in-memory/test database; WAL pragmas are harmless there.
    DATABASES["default"]["TEST"] = {"NAME": None}

# A small owned record used only by the permission-layer tests (tests/testapp).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
