"""What every API router shares: authentication, the error format, input types, pagination."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import AfterValidator, BaseModel, Field

from crm.core.errors import ValidationFailed
from crm.core.pagination import Page, decode_cursor, encode_cursor, paginate

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


# ---------------------------------------------------------------- input types


def _text_clean(value: str) -> str:
    """Refuse what no database column can store: NUL characters and lone surrogates.

    PostgreSQL rejects NUL in text and lone surrogates cannot be encoded as UTF-8; both would
    otherwise surface as server errors deep inside a query.
    """
    if "\x00" in value:
        raise ValueError(_("不能包含空字符（NUL）"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(_("包含无效的 Unicode 字符")) from exc
    return value


# Every string an endpoint accepts is a Text; give it a max_length with Field(...).
Text = Annotated[str, AfterValidator(_text_clean)]

# Bounds of the database integer columns, so an out-of-range number is a 422, not a crash.
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
ID_MAX = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=ID_MAX)]

# Default of a PATCH field that may be omitted but not set to null: the field's type has no
# None, so an explicit null is a 422, while the default (never validated) marks "not sent".
# Typed Any so that `name: Text = Field(UNSET)` type-checks.
UNSET: Any = None


def enum_schema(values: list[str]) -> dict[str, Any]:
    """json_schema_extra for a string checked by a service: documents the allowed values."""
    return {"enum": list(values)}


class ListParams(Schema):
    """?cursor= and ?limit= of every list endpoint."""

    cursor: Text | None = Field(None, max_length=1000, description="上一页响应中的 next")
    limit: int | None = Field(None, description="每页条数（默认 50，最多 200）")


# ---------------------------------------------------------------- output shapes


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut] = []


class ConflictOut(ErrorOut):
    existing_id: int | None = None
    # A stale edit (409): the record's current values, so the client can show or merge them.
    current: dict[str, Any] | None = None


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


ERRORS: dict[int | tuple, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- pagination


def page_limit(limit: int | None) -> int:
    if limit is None or limit <= 0:
        return int(settings.API_PAGE_SIZE)
    return min(limit, int(settings.API_MAX_PAGE_SIZE))


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(_("分页游标无效，请从第一页重新开始"), field="cursor")


@contextlib.contextmanager
def cursor_errors(cursor: str | None) -> Iterator[None]:
    """A cursor is client input: values of the wrong type for the ordering columns (a string
    for an id, NaN, a nested list…) fail only when the query is built or run. With a cursor,
    those failures are the cursor's fault and become a 422 on "cursor"."""
    if not cursor:
        yield
        return
    try:
        yield
    except (ValueError, TypeError, OverflowError, DjangoValidationError) as exc:
        raise _bad_cursor() from exc


def paginate_api(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    cursor: str | None,
    limit: int | None,
) -> Page:
    """One page of a selector's queryset, for an API list endpoint."""
    with cursor_errors(cursor):
        return paginate(queryset, ordering=ordering, cursor=cursor, limit=page_limit(limit))


def paginate_sequence(
    items: Iterable[T], *, key: Callable[[T], str], cursor: str | None, limit: int | None
) -> Page:
    """Keyset pagination of a small in-memory list (e.g. the entity registry), by a string key."""
    rows = sorted(items, key=key)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        if not isinstance(last, str):
            raise _bad_cursor()
        rows = [r for r in rows if key(r) > last]
    size = page_limit(limit)
    page = rows[:size]
    nxt = encode_cursor([key(page[-1])]) if len(rows) > size and page else None
    return Page(items=page, next=nxt)


def page_out(page: Page, render: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """The list response shape: {"items": [...], "next": cursor or null}."""
    items: Sequence[Any] = page.items
    return {"items": [render(i) for i in items] if render else list(items), "next": page.next}
