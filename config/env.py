"""Environment parsing: every setting the CRM reads comes through here (see .env.example)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    return env_str("CRM_ENV", "embedded").strip().lower() == "production"


def kept_secret(name: str, filename: str, generate: Callable[[], str]) -> str:
    """A secret from the environment; in embedded mode generated once and kept in the data dir.

    In production a missing secret is a start-up error: silently generating one there would
    log everyone out on every deploy and make encrypted fields unreadable on another host.
    """
    value = env_str(name).strip()
    if value:
        return value
    if is_production():
        command = "crm genkey --fernet" if name == "CRM_ENCRYPTION_KEY" else "crm genkey"
        raise ConfigurationError(
            f"{name} is required when CRM_ENV=production. Generate one with: {command}"
        )
    return _secret_file(data_dir() / filename, generate)


def _secret_file(path: Path, generate: Callable[[], str]) -> str:
    """Read the kept secret, or create it exactly once.

    `crm serve` starts several processes at the same moment; the file is created with
    O_EXCL so they all end up with the same key (two keys would mean sessions that fail
    at random and, for the encryption key, data nobody can decrypt). It is private (0600)
    from its first byte.
    """
    for _attempt in range(40):
        if path.exists():
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
            if time.time() - path.stat().st_mtime > 5:
                break  # empty for a while: left by a crash, not being written right now
        else:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another process won the race: read its key
            value = generate()
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(value)
            return value
        time.sleep(0.05)  # created but not yet written by another process
    # Still empty: a crash between creating and writing it. Nothing can have used it.
    value = generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    os.replace(tmp, path)
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
        where = (
            "CRM_ENCRYPTION_KEY"
            if env_str("CRM_ENCRYPTION_KEY").strip()
            else f"the key in {data_dir() / 'encryption_key'}"
        )
        raise ConfigurationError(
            f"{where} is not a valid key (32 url-safe base64-encoded bytes); "
            "generate one with: crm genkey --fernet"
        ) from exc
    return key


def database_config() -> dict[str, Any]:
    import dj_database_url

    url = env_str("CRM_DATABASE_URL")
    if not url:
        url = f"sqlite:///{data_dir() / 'crm.sqlite3'}"
    try:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=env_int("CRM_DB_CONN_MAX_AGE", 0))
        )
    except ValueError as exc:
        # Never echo the URL: it may carry a password.
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise ConfigurationError(
            f"CRM_DATABASE_URL is not a database URL the CRM understands (scheme {scheme!r}); "
            "use postgres://user:password@host:5432/name or sqlite:////path/to/file.sqlite3"
        ) from exc
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


def email_config() -> dict:
    """CRM_EMAIL_URL, e.g. smtp://user:password@mail.example.com:587?tls=true&from=crm@x.cn.

    Without it no mail is queued (settings.EMAIL_CONFIGURED); `console://` prints mail.
    """
    from urllib.parse import parse_qs, unquote, urlparse

    url = env_str("CRM_EMAIL_URL")
    if not url:
        return {"EMAIL_HOST": "localhost", "EMAIL_PORT": 25}
    parsed = urlparse(url)
    if parsed.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parsed.scheme not in ("smtp", "smtps"):
        raise ConfigurationError("CRM_EMAIL_URL must start with smtp://, smtps:// or console://")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    truthy = {"1", "true", "yes", "on"}
    config = {
        "EMAIL_HOST": parsed.hostname or "localhost",
        "EMAIL_PORT": parsed.port or (465 if parsed.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", "").lower() in truthy,
        "EMAIL_TIMEOUT": 15,
    }
    if query.get("from"):
        config["DEFAULT_FROM_EMAIL"] = query["from"]
    return config
