"""Details of the permission layer beyond the matrix: grant union, reports, shares, paths."""

from __future__ import annotations

import dataclasses

import pytest
from django.db.models import Q

from crm.access.models import Department, RoleGrant, User
from crm.access.registry import entity_get, register
from crm.access.tests.factories import DepartmentFactory, RoleFactory, UserFactory
from crm.access.visibility import (
    FULL_GRANT,
    NO_GRANT,
    can,
    clear_cache,
    editable,
    grant_for,
    report_ids,
    require,
    visible,
)
from crm.core.errors import PermissionDenied
from crm.core.recyclebin import record_delete, trash_list
from tests.testapp.models import Note


@pytest.fixture
def role(db):
    return RoleFactory(code="t", name="t")


@pytest.fixture
def actor(role):
    dept = DepartmentFactory(name="华东")
    return UserFactory(username="actor", department=dept, roles=[role])


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_grant_for_ignores_junk_stored_in_the_database(actor, role):
    """Grants written around the service (old data, hand edits) never widen access."""
    RoleGrant.objects.create(
        role=role, entity="note", actions=["view", "edit", "fly"], scope="galaxy", edit_scope="all"
    )
    grant = grant_for(_fresh(actor), "note")
    assert grant.actions == frozenset({"view", "edit"})
    assert grant.scope == "none"
    assert grant.edit_scope == "none"


def test_grant_for_clamps_edit_scope_to_scope(actor, role):
    RoleGrant.objects.create(
        role=role, entity="note", actions=["view", "edit"], scope="own", edit_scope="all"
    )
    grant = grant_for(_fresh(actor), "note")
    assert (grant.scope, grant.edit_scope) == ("own", "own")
    assert grant.scope_for("edit") == "own"
    assert grant.scope_for("delete") == "none"  # not granted


def test_uniform_grants():
    assert NO_GRANT.scope_for("view") == "none"
    assert FULL_GRANT.scope_for("view") == "all"
    assert FULL_GRANT.scope_for("delete") == "all"


def test_report_ids_direct_indirect_and_cached(actor):
    a = UserFactory(username="a", manager=actor)
    b = UserFactory(username="b", manager=a)
    c = UserFactory(username="c", manager=b)
    UserFactory(username="stranger")
    assert sorted(report_ids(actor)) == sorted([a.pk, b.pk, c.pk])
    assert report_ids(a) == [b.pk, c.pk]
    d = UserFactory(username="d", manager=actor)
    assert d.pk not in report_ids(actor)  # cached on the object for one request
    clear_cache(actor)
    assert d.pk in report_ids(actor)


def test_subtree_is_a_path_prefix_not_a_string_prefix(actor, role):
    """Department "/5/" must not contain "/55/": paths end with a slash."""
    RoleGrant.objects.create(
        role=role, entity="note", actions=["view"], scope="subtree", edit_scope="none"
    )
    other = DepartmentFactory(name="华南")
    Department.objects.filter(pk=actor.department_id).update(path="/5/")
    Department.objects.filter(pk=other.pk).update(path="/55/")
    neighbour = UserFactory(username="n", department=other)
    Note.objects.create(title="theirs", owner=neighbour)
    Note.objects.create(title="mine", owner=actor)
    assert list(visible(_fresh(actor), Note).values_list("title", flat=True)) == ["mine"]


@pytest.fixture
def shared_notes():
    """The note entity with an extra visible rule (like a share), restored afterwards."""
    original = entity_get("note")
    register(dataclasses.replace(original, extra_visible=lambda a: Q(title__startswith="shared")))
    yield
    register(original)


def test_shared_rows_are_visible_not_editable(actor, role, shared_notes):
    RoleGrant.objects.create(
        role=role,
        entity="note",
        actions=["view", "edit", "delete"],
        scope="own",
        edit_scope="own",
    )
    stranger = UserFactory(username="stranger")
    shared = Note.objects.create(title="shared-plan", owner=stranger)
    Note.objects.create(title="secret", owner=stranger)
    mine = Note.objects.create(title="mine", owner=actor)
    actor = _fresh(actor)
    assert set(visible(actor, Note).values_list("title", flat=True)) == {"shared-plan", "mine"}
    assert list(editable(actor, Note)) == [mine]
    assert can(actor, "view", shared)
    assert not can(actor, "edit", shared)
    with pytest.raises(PermissionDenied):
        require(actor, "delete", shared)
    # A shared record deleted by its owner does not show in the sharer's recycle bin.
    admin = UserFactory(username="boss", is_superuser=True)
    record_delete(actor=admin, obj=shared)
    record_delete(actor=actor, obj=mine)
    assert [r.obj.pk for r in trash_list(actor=actor, entity_key="note")] == [mine.pk]


def test_visible_with_extra_rule_has_no_duplicates(actor, role, shared_notes):
    RoleGrant.objects.create(role=role, entity="note", actions=["view"], scope="own")
    Note.objects.create(title="shared-mine", owner=actor)  # matches both rules
    assert visible(_fresh(actor), Note).count() == 1


def test_users_without_grants_on_org_data_see_no_users(db):
    lonely = UserFactory(username="lonely")
    assert not visible(lonely, User).exists()
    assert not can(lonely, "view", lonely)
