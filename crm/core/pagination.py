"""Keyset (cursor) pagination: every list endpoint and long list page uses this.

A cursor is the ordering values of the last row seen, so fetching page N costs the
same as page 1 (no OFFSET scan at a million rows).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed


@dataclass
class Page:
    items: list[Any]
    next: str | None


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return dt.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return dt.date.fromisoformat(value["d"])
        if "dec" in value:
            return Decimal(value["dec"])
        raise ValueError("unknown cursor value")
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong size")
        return [_decode_value(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError) as exc:
        raise ValidationFailed(_("分页游标无效，请从第一页重新开始"), field="cursor") from exc


def _nullable(model: Any, path: str) -> bool:
    """Whether the ordering key `path` (maybe across relations) can be NULL."""
    opts = model._meta
    for part in path.split("__"):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return True  # an annotation or something unusual: assume the worst
        if getattr(field, "null", False) or not getattr(field, "concrete", True):
            return True
        if field.is_relation and field.related_model is not None:
            opts = field.related_model._meta
    return False


def _after(
    ordering: tuple[str, ...], fields: list[str], nullable: list[bool], last: list[Any]
) -> Q:
    """Rows after `last` in `ordering`: (a, b, c) > (x, y, z) expanded as an OR-chain,
    honouring each key's direction. NULLs sort after every value in both directions."""
    condition = Q(pk__in=[])
    for i, field in enumerate(fields):
        step = Q()
        for j in range(i):
            if last[j] is None:
                step &= Q(**{f"{fields[j]}__isnull": True})
            else:
                step &= Q(**{fields[j]: last[j]})
        if last[i] is None:
            continue  # nothing sorts after NULL in this key
        lookup = "lt" if ordering[i].startswith("-") else "gt"
        beyond = Q(**{f"{field}__{lookup}": last[i]})
        if nullable[i]:
            beyond |= Q(**{f"{field}__isnull": True})
        condition |= step & beyond
    return condition


def _order_by(ordering: tuple[str, ...], fields: list[str], nullable: list[bool]) -> list[Any]:
    out: list[str | OrderBy] = []
    for key, field, null in zip(ordering, fields, nullable, strict=True):
        if not null:
            out.append(key)  # plain ORDER BY: an index on the key serves it
        elif key.startswith("-"):
            out.append(F(field).desc(nulls_last=True))
        else:
            out.append(F(field).asc(nulls_last=True))
    return out


def paginate(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...] = ("-id",),
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Return one page of `queryset` ordered by `ordering` (the last key must be unique)."""
    fields = [o.lstrip("-") for o in ordering]
    nullable = [_nullable(queryset.model, f) for f in fields]
    limit = max(1, limit)
    queryset = queryset.order_by(*_order_by(ordering, fields, nullable))
    try:
        if cursor:
            last = decode_cursor(cursor, len(fields))
            queryset = queryset.filter(_after(ordering, fields, nullable, last))
        rows = list(queryset[: limit + 1])
    except (ValueError, TypeError, OverflowError, DjangoValidationError) as exc:
        # A well-formed cursor holding values of the wrong type (edited by hand, or from
        # another list): the same answer as a malformed one, never a server error.
        raise ValidationFailed(_("分页游标无效，请从第一页重新开始"), field="cursor") from exc
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        tail = rows[-1]
        next_cursor = encode_cursor([_attr(tail, f) for f in fields])
    return Page(items=rows, next=next_cursor)


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj
