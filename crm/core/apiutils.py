"""What every API router shares: authentication, the error format, pagination schemas."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.conf import settings
from django.http import HttpRequest
from ninja import Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import BaseModel

T = TypeVar("T")


class BearerAuth(HttpBearer):
    """`Authorization: Bearer crm_…` with a personal or login token (stored hashed)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from crm.access.services import token_authenticate

        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """The logged-in browser session (CSRF enforced for unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not user.is_active:
            return None
        return user


AUTH = [BearerAuth(), ActiveSessionAuth()]


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut] = []


class ConflictOut(ErrorOut):
    existing_id: int | None = None


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def page_limit(limit: int | None) -> int:
    if limit is None or limit <= 0:
        return int(settings.API_PAGE_SIZE)
    return min(limit, int(settings.API_MAX_PAGE_SIZE))


ERRORS: dict[int | tuple, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: ErrorOut,
    429: ErrorOut,
}
