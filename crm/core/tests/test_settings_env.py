"""config.env: settings from the environment, kept secrets, and clear start-up errors.

The functions are called directly with a patched environment; settings are not reloaded.
"""

from __future__ import annotations

import os
import stat
import threading

import pytest
from cryptography.fernet import Fernet

from config import env
from config.env import ConfigurationError

VARS = (
    "CRM_ENV",
    "CRM_DATA_DIR",
    "CRM_SECRET_KEY",
    "CRM_ENCRYPTION_KEY",
    "CRM_DATABASE_URL",
    "CRM_DB_CONN_MAX_AGE",
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("no", False)],
)
def test_env_bool(monkeypatch, raw, expected):
    monkeypatch.setenv("CRM_X", raw)
    assert env.env_bool("CRM_X") is expected


def test_env_bool_default(monkeypatch):
    monkeypatch.setenv("CRM_X", "")
    assert env.env_bool("CRM_X", True) is True
    monkeypatch.delenv("CRM_X")
    assert env.env_bool("CRM_X") is False


def test_env_int(monkeypatch):
    monkeypatch.setenv("CRM_N", "42")
    assert env.env_int("CRM_N", 1) == 42
    monkeypatch.setenv("CRM_N", "")
    assert env.env_int("CRM_N", 7) == 7
    monkeypatch.setenv("CRM_N", "forty")
    with pytest.raises(ConfigurationError, match="CRM_N must be an integer"):
        env.env_int("CRM_N", 1)


def test_data_dir_is_created(clean_env):
    assert not clean_env.exists()
    assert env.data_dir() == clean_env.resolve()
    assert clean_env.is_dir()


@pytest.mark.parametrize("value", ["production", "PRODUCTION", " production "])
def test_is_production(monkeypatch, value):
    monkeypatch.setenv("CRM_ENV", value)
    assert env.is_production()


def test_embedded_is_the_default(clean_env):
    assert not env.is_production()


@pytest.mark.parametrize(
    ("getter", "name", "hint"),
    [
        (env.secret_key, "CRM_SECRET_KEY", "crm genkey"),
        (env.encryption_key, "CRM_ENCRYPTION_KEY", "crm genkey --fernet"),
    ],
)
def test_production_requires_each_secret(clean_env, monkeypatch, getter, name, hint):
    monkeypatch.setenv("CRM_ENV", "production")
    with pytest.raises(ConfigurationError) as err:
        getter()
    message = str(err.value)
    assert f"{name} is required when CRM_ENV=production" in message
    assert message.endswith(hint)
    assert not (clean_env / "secret_key").exists()
    assert not (clean_env / "encryption_key").exists()


def test_production_uses_the_given_secrets(clean_env, monkeypatch):
    monkeypatch.setenv("CRM_ENV", "production")
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("CRM_SECRET_KEY", "s" * 50)
    monkeypatch.setenv("CRM_ENCRYPTION_KEY", key)
    assert env.secret_key() == "s" * 50
    assert env.encryption_key() == key
    assert not (clean_env / "secret_key").exists()


def test_embedded_generates_and_reuses_a_private_key_file(clean_env):
    first = env.secret_key()
    path = clean_env / "secret_key"
    assert path.read_text() == first
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert env.secret_key() == first  # the next start reads it back


def test_embedded_encryption_key_is_a_valid_fernet_key(clean_env):
    key = env.encryption_key()
    Fernet(key.encode())
    assert env.encryption_key() == key
    assert (clean_env / "encryption_key").read_text() == key


def test_environment_wins_over_the_kept_file(clean_env, monkeypatch):
    env.secret_key()
    monkeypatch.setenv("CRM_SECRET_KEY", "from-the-environment")
    assert env.secret_key() == "from-the-environment"


def test_empty_key_file_is_replaced(clean_env):
    clean_env.mkdir(parents=True)
    empty = clean_env / "secret_key"
    empty.write_text("")
    os.utime(empty, (0, 0))  # left empty by a crash long ago
    key = env.secret_key()
    assert key
    assert (clean_env / "secret_key").read_text() == key


def test_concurrent_starts_share_one_key(clean_env):
    """`crm serve` starts several processes at once: they must agree on the key."""
    env.data_dir()
    results: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(env.encryption_key())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert (clean_env / "encryption_key").read_text() == results[0]


@pytest.mark.parametrize("bad", ["abc", "not a key at all", "密钥" * 10, "A" * 43])
def test_invalid_encryption_key_is_rejected(clean_env, monkeypatch, bad):
    monkeypatch.setenv("CRM_ENCRYPTION_KEY", bad)
    with pytest.raises(ConfigurationError, match="CRM_ENCRYPTION_KEY is not a valid key"):
        env.encryption_key()


def test_invalid_kept_encryption_key_names_the_file(clean_env):
    clean_env.mkdir(parents=True)
    (clean_env / "encryption_key").write_text("corrupted")
    with pytest.raises(ConfigurationError) as err:
        env.encryption_key()
    assert str(clean_env / "encryption_key") in str(err.value)


def test_database_defaults_to_sqlite_in_the_data_dir(clean_env):
    config = env.database_config()
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(clean_env.resolve() / "crm.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_database_postgres_url(clean_env, monkeypatch, scheme):
    monkeypatch.setenv("CRM_DATABASE_URL", f"{scheme}://crm:pw@db.internal:5433/crm")
    monkeypatch.setenv("CRM_DB_CONN_MAX_AGE", "60")
    config = env.database_config()
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "crm")
    assert config["CONN_MAX_AGE"] == 60
    assert "OPTIONS" not in config or "init_command" not in config["OPTIONS"]


@pytest.mark.parametrize("url", ["nonsense", "foo://x/y", "postgres://u:secret@h:port/db"])
def test_database_bad_url_is_a_configuration_error_without_the_password(
    clean_env, monkeypatch, url
):
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    with pytest.raises(ConfigurationError, match="CRM_DATABASE_URL") as err:
        env.database_config()
    assert "secret" not in str(err.value)


def test_env_reads_are_not_cached(monkeypatch):
    monkeypatch.setenv("CRM_ENV", "production")
    assert env.is_production()
    monkeypatch.setenv("CRM_ENV", "embedded")
    assert not env.is_production()
    assert os.environ["CRM_ENV"] == "embedded"
