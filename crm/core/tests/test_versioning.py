"""Optimistic concurrency: a stale edit is refused, never silently overwriting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.errors import StaleVersion
from crm.core.versioning import save_with_version
from tests.testapp.models import Note


@pytest.fixture
def note(db):
    return Note.objects.create(title="原标题", amount=Decimal("10.00"))


def test_success_increments_the_version(note):
    before = Note.objects.get(pk=note.pk).updated_at
    note.title = "新标题"
    save_with_version(note, expected_version=1, fields=["title"])
    assert note.version == 2
    stored = Note.objects.get(pk=note.pk)
    assert (stored.title, stored.version) == ("新标题", 2)
    assert stored.updated_at >= before
    note.title = "第三版"
    save_with_version(note, expected_version=2, fields=["title"])
    assert Note.objects.get(pk=note.pk).version == 3


def test_only_the_named_fields_are_written(note):
    note.title = "新标题"
    note.amount = Decimal("99.00")
    save_with_version(note, expected_version=1, fields=["title"])
    assert Note.objects.get(pk=note.pk).amount == Decimal("10.00")


def test_stale_edit_is_refused_with_the_current_values(note):
    alice = Note.objects.get(pk=note.pk)
    bob = Note.objects.get(pk=note.pk)
    alice.title = "Alice 的修改"
    save_with_version(alice, expected_version=1, fields=["title"])
    bob.title = "Bob 的修改"
    with pytest.raises(StaleVersion) as err:
        save_with_version(bob, expected_version=1, fields=["title"])
    assert err.value.current == {"title": "Alice 的修改", "version": 2}
    assert err.value.status == 409
    assert err.value.message
    stored = Note.objects.get(pk=note.pk)
    assert (stored.title, stored.version) == ("Alice 的修改", 2)


def test_none_means_the_version_in_hand(note):
    """A system job passes None: the check uses the version it loaded."""
    stale = Note.objects.get(pk=note.pk)
    note.title = "先改"
    save_with_version(note, expected_version=None, fields=["title"])
    assert note.version == 2
    stale.title = "后改"
    with pytest.raises(StaleVersion):
        save_with_version(stale, expected_version=None, fields=["title"])


def test_a_version_from_the_future_is_stale_too(note):
    with pytest.raises(StaleVersion):
        save_with_version(note, expected_version=5, fields=["title"])


def test_a_vanished_record_is_stale(note):
    Note.all_objects.filter(pk=note.pk).delete()
    with pytest.raises(StaleVersion) as err:
        save_with_version(note, expected_version=1, fields=["title"])
    assert err.value.current == {}


def test_records_in_the_recycle_bin_still_version(note):
    from django.utils import timezone

    Note.all_objects.filter(pk=note.pk).update(deleted_at=timezone.now())
    note.title = "在回收站里改"
    save_with_version(note, expected_version=1, fields=["title"])
    assert Note.all_objects.get(pk=note.pk).version == 2
