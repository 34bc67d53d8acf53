"""Keyset pagination: walking every page returns every row exactly once, in order."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.access.tests.factories import UserFactory
from crm.audit.models import AuditEntry
from crm.audit.services import audit_record
from crm.core.errors import ValidationFailed
from crm.core.pagination import decode_cursor, encode_cursor, paginate
from tests.testapp.models import Note

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def walk(qs, ordering, limit):
    """Every page, following `next` until it is None."""
    rows, cursor, pages = [], None, 0
    while True:
        page = paginate(qs, ordering=ordering, cursor=cursor, limit=limit)
        pages += 1
        assert len(page.items) <= limit
        rows.extend(page.items)
        if page.next is None:
            return rows, pages
        assert page.items, "a page with a next cursor is never empty"
        cursor = page.next
        assert pages < 200


@pytest.fixture
def notes(db):
    """23 notes, created at only three distinct moments (ties in the first key), some with
    equal amounts, some without an amount, some without an owner."""
    owners = [UserFactory(username=f"u{i}") for i in range(3)]
    out = []
    for i in range(23):
        out.append(
            Note.objects.create(
                title=f"n{i % 7}",
                created_at=T0 + dt.timedelta(minutes=i % 3),
                amount=None if i % 5 == 0 else Decimal(i % 4) + Decimal("0.50"),
                owner=None if i % 6 == 0 else owners[i % 3],
            )
        )
    return out


def _key(note, field):
    value = note
    for part in field.split("__"):
        value = getattr(value, part) if value is not None else None
    return value


def assert_sorted(rows, ordering):
    """Python's view of the order: each key in its direction, NULLs last either way."""

    def cmp_key(note):
        out = []
        for key in ordering:
            field = key.lstrip("-")
            value = _key(note, field)
            if value is None:
                out.append((1, 0))
            elif key.startswith("-"):
                out.append((0, _Neg(value)))
            else:
                out.append((0, value))
        return out

    assert rows == sorted(rows, key=cmp_key)


class _Neg:
    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return self.v > other.v

    def __eq__(self, other):
        return self.v == other.v

    __hash__ = None


ORDERINGS = [
    ("-created_at", "-id"),
    ("created_at", "id"),
    ("created_at", "-id"),
    ("-amount", "id"),
    ("amount", "-id"),
    ("title", "-created_at", "id"),
    ("owner__username", "id"),
    ("-owner__username", "-id"),
    ("-id",),
]


@pytest.mark.parametrize("ordering", ORDERINGS, ids=[",".join(o) for o in ORDERINGS])
@pytest.mark.parametrize("limit", [1, 5, 22, 50])
def test_walk_returns_every_row_once_in_order(notes, ordering, limit):
    rows, pages = walk(Note.objects.all(), ordering, limit)
    assert sorted(n.pk for n in rows) == sorted(n.pk for n in notes)
    assert_sorted(rows, ordering)
    assert pages == max(1, -(-len(notes) // limit))


def test_walk_of_a_filtered_queryset(notes):
    qs = Note.objects.filter(title="n1")
    rows, _pages = walk(qs, ("-created_at", "-id"), 2)
    assert {n.pk for n in rows} == set(qs.values_list("pk", flat=True))


def test_rows_added_while_walking_do_not_shift_the_pages(notes):
    """Keyset, not OFFSET: inserting newer rows never repeats or skips older ones."""
    first = paginate(Note.objects.all(), ordering=("-created_at", "-id"), limit=5)
    for _ in range(3):
        Note.objects.create(title="new", created_at=T0 + dt.timedelta(hours=1))
    rest, _pages = walk_from(first.next, ("-created_at", "-id"), 5)
    seen = [n.pk for n in first.items] + [n.pk for n in rest]
    assert sorted(seen) == sorted(n.pk for n in notes)


def walk_from(cursor, ordering, limit):
    rows, pages = [], 0
    while cursor:
        page = paginate(Note.objects.all(), ordering=ordering, cursor=cursor, limit=limit)
        rows.extend(page.items)
        cursor = page.next
        pages += 1
    return rows, pages


def test_empty_and_exact_pages(db):
    page = paginate(Note.objects.all(), limit=5)
    assert (page.items, page.next) == ([], None)
    for i in range(10):
        Note.objects.create(title=f"x{i}")
    first = paginate(Note.objects.all(), ordering=("id",), limit=5)
    second = paginate(Note.objects.all(), ordering=("id",), cursor=first.next, limit=5)
    assert len(second.items) == 5
    assert second.next is None


def test_audit_log_pages(db):
    for i in range(7):
        audit_record(action="config", entity="x", object_id=i)
    rows, pages = walk(AuditEntry.objects.all(), ("-seq",), 3)
    assert [e.seq for e in rows] == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3


def test_cursor_values_round_trip():
    values = [
        timezone.now(),
        dt.date(2026, 2, 29 - 1),
        Decimal("12345.6789"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "华东",
        42,
        None,
        True,
    ]
    decoded = decode_cursor(encode_cursor(values), len(values))
    assert decoded[0] == values[0]
    assert decoded[0].tzinfo is not None
    assert decoded[1] == values[1]
    assert decoded[2] == values[2]
    assert isinstance(decoded[2], Decimal)
    assert decoded[3] == str(values[3])
    assert decoded[4:] == values[4:]
    assert "=" not in encode_cursor(values)  # URL-safe without padding


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage!!",
    "%%%",
    "a",
    _b64({"not": "a list"}),
    _b64([1, 2, 3]),  # wrong size for ("-created_at", "-id")
    _b64([{"dt": "yesterday"}, 1]),
    _b64([{"dt": 5}, 1]),
    _b64([{"weird": 1}, 1]),
    _b64([{"dt": "2026-03-01T09:00:00+00:00"}, "abc"]),  # id is not a number
    _b64(["not a date", 1]),
    _b64([{"dt": "2026-03-01T09:00:00+00:00"}, [1]]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_invalid_cursor_is_a_validation_error_on_the_cursor_field(notes, cursor):
    with pytest.raises(ValidationFailed) as err:
        paginate(Note.objects.all(), ordering=("-created_at", "-id"), cursor=cursor, limit=5)
    assert err.value.field == "cursor"
    assert err.value.status == 422


def test_decimal_cursor_is_exact(db):
    for value in ("0.10", "0.20", "0.30", "0.30"):
        Note.objects.create(title=value, amount=Decimal(value))
    first = paginate(Note.objects.all(), ordering=("amount", "id"), limit=2)
    assert decode_cursor(first.next, 2)[0] == Decimal("0.20")
    second = paginate(Note.objects.all(), ordering=("amount", "id"), cursor=first.next, limit=2)
    assert [n.amount for n in second.items] == [Decimal("0.30"), Decimal("0.30")]


def test_out_of_range_number_in_a_cursor_is_no_server_error(notes):
    cursor = _b64([{"dt": "2026-03-01T09:00:00+00:00"}, 10**30])
    try:
        page = paginate(Note.objects.all(), ordering=("-created_at", "-id"), cursor=cursor)
    except ValidationFailed as exc:
        assert exc.field == "cursor"
    else:
        assert len(page.items) <= 50
