"""Environment parsing: every setting the CRM reads comes through here (see .env.example)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; raised at start-up with a message for the operator."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from exc


def data_dir() -> Path:
    path = Path(env_str("CRM_DATA_DIR", "./var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_production() -> bool:
    return env_str("CRM_ENV", "embedded").lower() == "production"


def kept_secret(name: str, filename: str, generate: callable) -> str:  # type: ignore[valid-type]
    """A secret from the environment; in embedded mode generated once and kept in the data dir.

    In production a missing secret is a start-up error: silently generating one there would
    log everyone out on every deploy and make encrypted fields unreadable on another host.
    """
    value = env_str(name)
    if value:
        return value
    if is_production():
        raise ConfigurationError(
            f"{name} is required when CRM_ENV=production. "
            f"Generate one with: crm genkey {'--fernet' if name == 'CRM_ENCRYPTION_KEY' else ''}"
        )
    path = data_dir() / filename
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = generate()
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


def secret_key() -> str:
    return kept_secret("CRM_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))


def encryption_key() -> str:
    key = kept_secret(
        "CRM_ENCRYPTION_KEY", "encryption_key", lambda: Fernet.generate_key().decode("ascii")
    )
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "CRM_ENCRYPTION_KEY is not a valid key (32 url-safe base64-encoded bytes)"
        ) from exc
    return key


def database_config() -> dict:
    import dj_database_url

    url = env_str("CRM_DATABASE_URL")
    if not url:
        url = f"sqlite:///{data_dir() / 'crm.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=env_int("CRM_DB_CONN_MAX_AGE", 0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write
            # lock at BEGIN so two writers queue instead of failing with "database is locked".
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;PRAGMA cache_size=-64000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    elif config["ENGINE"] in {
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
    }:
        config["ENGINE"] = "django.db.backends.postgresql"
    return config
