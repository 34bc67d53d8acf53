"""Encryption at rest for sensitive fields (Fernet: AES-128-CBC + HMAC, key CRM_ENCRYPTION_KEY)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


def _fernet() -> Fernet:
    return Fernet(settings.ENCRYPTION_KEY.encode("ascii"))


def encrypt_text(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # written before the field was encrypted
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong CRM_ENCRYPTION_KEY?") from exc


class EncryptedTextField(models.TextField):
    """Stored encrypted; read back as clear text. Not searchable or sortable by design."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        return decrypt_text(value)
