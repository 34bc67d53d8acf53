"""Keyset (cursor) pagination: every list endpoint and long list page uses this.

A cursor is the ordering values of the last row seen, so fetching page N costs the
same as page 1 (no OFFSET scan at a million rows).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
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


def paginate(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...] = ("-id",),
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Return one page of `queryset` ordered by `ordering` (the last key must be unique)."""
    fields = [o.lstrip("-") for o in ordering]
    if cursor:
        last = decode_cursor(cursor, len(fields))
        # (a, b, c) > (x, y, z) expanded as a OR-chain, honouring each key's direction.
        condition = Q()
        for i, field in enumerate(fields):
            step = Q(**{f: last[j] for j, f in enumerate(fields[:i])})
            lookup = "lt" if ordering[i].startswith("-") else "gt"
            step &= Q(**{f"{field}__{lookup}": last[i]})
            condition |= step
        queryset = queryset.filter(condition)
    rows = list(queryset.order_by(*ordering)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        tail = rows[-1]
        next_cursor = encode_cursor([_attr(tail, f) for f in fields])
    return Page(items=rows, next=next_cursor)


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj
