"""The permission matrix, table-driven: role scope × edit scope × action × whose record.

The test-only entity "note" (tests/testapp) is owned by a user. One actor (a manager in
华东销售部) gets a single test role; the notes belong to:

    self        the actor
    colleague   someone else in 华东销售部 (same department)
    sub         someone in 上海办事处, a sub-department of 华东销售部
    other       someone in 华南销售部 (another branch)
    report      the actor's direct report (User.manager), who sits in 财务部
    orphan      nobody (owner is NULL)
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from crm.access.models import Department, Role, Scope, User
from crm.access.services import role_grant_set
from crm.access.tests.factories import DepartmentFactory, RoleFactory, UserFactory
from crm.access.visibility import (
    can,
    clear_cache,
    editable,
    grant_for,
    is_admin,
    require,
    visible,
    visible_get,
)
from crm.core.errors import NotFound, PermissionDenied
from tests.testapp.models import Note

OWNERS = ("self", "colleague", "sub", "other", "report", "orphan")

# What each scope lets the actor see. A manager also sees the records of their reports
# (at any scope but "none"), wherever those reports sit.
VISIBLE: dict[str, set[str]] = {
    "none": set(),
    "own": {"self", "report"},
    "department": {"self", "colleague", "report"},
    "subtree": {"self", "colleague", "sub", "report"},
    "all": set(OWNERS),
}

# What each edit scope lets the actor edit and delete. With edit scope "own" the reports'
# records stay read-only; a wider edit scope grants them too.
EDITABLE: dict[str, set[str]] = {
    "none": set(),
    "own": {"self"},
    "department": {"self", "colleague", "report"},
    "subtree": {"self", "colleague", "sub", "report"},
    "all": set(OWNERS),
}

SCOPES = [s.value for s in Scope]
FULL = ["view", "create", "edit", "delete", "export"]

# Every valid (scope, edit scope) pair: the edit scope never exceeds the visible scope.
PAIRS = [(s, e) for i, s in enumerate(SCOPES) for e in SCOPES[: i + 1]]


@pytest.fixture
def world(db):
    root = DepartmentFactory(name="公司")
    sales = DepartmentFactory(name="销售中心", parent=root)
    east = DepartmentFactory(name="华东销售部", parent=sales)
    shanghai = DepartmentFactory(name="上海办事处", parent=east)
    south = DepartmentFactory(name="华南销售部", parent=sales)
    finance = DepartmentFactory(name="财务部", parent=root)
    for d in (root, sales, east, shanghai, south, finance):
        d.refresh_from_db()
    role = RoleFactory(code="tester", name="测试角色")
    admin_role = RoleFactory(code="boss", name="管理员", is_admin=True)
    admin = UserFactory(username="root", department=root, roles=[admin_role])
    actor = UserFactory(username="actor", department=east, roles=[role])
    users = {
        "self": actor,
        "colleague": UserFactory(username="colleague", department=east),
        "sub": UserFactory(username="sub", department=shanghai),
        "other": UserFactory(username="other", department=south),
        "report": UserFactory(username="report", department=finance, manager=actor),
        "orphan": None,
    }
    notes = {key: Note.objects.create(title=f"note-{key}", owner=u) for key, u in users.items()}
    return SimpleNamespace(
        admin=admin,
        admin_role=admin_role,
        actor=actor,
        role=role,
        users=users,
        notes=notes,
        depts=SimpleNamespace(east=east, shanghai=shanghai, south=south, finance=finance),
    )


def fresh(user: User) -> User:
    """The user as a new request would load it (no cached grants)."""
    return User.objects.get(pk=user.pk)


def grant(world, actions, scope, edit_scope, role: Role | None = None) -> User:
    role_grant_set(
        actor=world.admin,
        role=role or world.role,
        entity="note",
        actions=actions,
        scope=scope,
        edit_scope=edit_scope,
    )
    return fresh(world.actor)


def keys(qs) -> set[str]:
    titles = set(qs.values_list("title", flat=True))
    return {t.removeprefix("note-") for t in titles}


@pytest.mark.parametrize(("scope", "edit_scope"), PAIRS, ids=[f"{s}/{e}" for s, e in PAIRS])
def test_matrix_full_actions(world, scope, edit_scope):
    actor = grant(world, FULL, scope, edit_scope)
    seen, edits = VISIBLE[scope], EDITABLE[edit_scope]
    assert keys(visible(actor, Note)) == seen
    assert keys(editable(actor, Note)) == edits
    assert can(actor, "create", Note)
    assert can(actor, "create", "note")
    assert not can(actor, "import", Note)  # not granted
    for owner in OWNERS:
        note = world.notes[owner]
        assert can(actor, "view", note) is (owner in seen), owner
        assert can(actor, "export", note) is (owner in seen), owner
        assert can(actor, "edit", note) is (owner in edits), owner
        assert can(actor, "delete", note) is (owner in edits), owner
        for action in ("edit", "delete"):
            if owner in edits:
                require(actor, action, note)
            elif owner in seen:
                with pytest.raises(PermissionDenied):
                    require(actor, action, note)
            else:
                # Out of scope: reported as missing, never as forbidden.
                with pytest.raises(NotFound):
                    require(actor, action, note)
        if owner in seen:
            assert visible_get(actor, Note, note.pk) == note
        else:
            with pytest.raises(NotFound):
                visible_get(actor, Note, note.pk)


@pytest.mark.parametrize("scope", SCOPES)
def test_matrix_view_only(world, scope):
    """A role with only `view` edits nothing; visible records are 403, others 404."""
    actor = grant(world, ["view"], scope, "none")
    assert keys(visible(actor, Note)) == VISIBLE[scope]
    assert keys(editable(actor, Note)) == set()
    assert not can(actor, "create", Note)
    with pytest.raises(PermissionDenied):
        require(actor, "create", Note)
    for owner in OWNERS:
        note = world.notes[owner]
        assert not can(actor, "edit", note)
        assert not can(actor, "export", note)
        expected = PermissionDenied if owner in VISIBLE[scope] else NotFound
        with pytest.raises(expected):
            require(actor, "delete", note)


def test_edit_without_delete(world):
    actor = grant(world, ["view", "edit"], "department", "department")
    note = world.notes["colleague"]
    assert can(actor, "edit", note)
    assert not can(actor, "delete", note)
    with pytest.raises(PermissionDenied):
        require(actor, "delete", note)


def test_no_grant_at_all(world):
    actor = grant(world, [], "all", "all")  # an empty action list removes the grant
    assert grant_for(actor, "note").actions == frozenset()
    assert not visible(actor, Note).exists()
    assert not can(actor, "create", Note)
    with pytest.raises(NotFound):
        require(actor, "view", world.notes["self"])


def test_manager_sees_reports_read_only_unless_edit_scope_reaches(world):
    report_note = world.notes["report"]
    actor = grant(world, FULL, "department", "own")
    assert can(actor, "view", report_note)
    assert not can(actor, "edit", report_note)
    with pytest.raises(PermissionDenied):
        require(actor, "edit", report_note)
    actor = grant(world, FULL, "department", "department")
    assert can(actor, "edit", report_note)


def test_indirect_reports_count(world):
    """A report's report is still below the manager."""
    grand = UserFactory(
        username="grand", department=world.depts.south, manager=world.users["report"]
    )
    note = Note.objects.create(title="note-grand", owner=grand)
    actor = grant(world, FULL, "own", "own")
    assert can(actor, "view", note)
    assert not can(actor, "edit", note)


def test_manager_cycle_does_not_hang(world):
    User.objects.filter(pk=world.actor.pk).update(manager=world.users["report"])
    actor = grant(world, FULL, "own", "own")
    assert keys(visible(actor, Note)) == {"self", "report"}


def test_actor_without_department(world):
    User.objects.filter(pk=world.actor.pk).update(department=None)
    for scope in ("department", "subtree"):
        actor = grant(world, FULL, scope, scope)
        assert keys(visible(actor, Note)) == {"self", "report"}
        assert keys(editable(actor, Note)) == {"self", "report"}


def test_multiple_roles_union_widest_scope(world):
    second = RoleFactory(code="second", name="第二角色")
    world.actor.roles.add(second)
    grant(world, ["view"], "own", "none")
    actor = grant(world, ["view", "edit"], "subtree", "department", role=second)
    assert keys(visible(actor, Note)) == VISIBLE["subtree"]
    assert keys(editable(actor, Note)) == EDITABLE["department"]
    # Order of the roles does not matter.
    grant(world, ["view", "edit", "delete"], "all", "own")
    actor = grant(world, ["view"], "own", "own", role=second)
    assert keys(visible(actor, Note)) == VISIBLE["all"]
    assert keys(editable(actor, Note)) == EDITABLE["own"]


def test_union_is_per_action(world):
    """A role's scope widens only the actions that role grants."""
    second = RoleFactory(code="second", name="第二角色")
    world.actor.roles.add(second)
    # Role 1 may create anywhere; role 2 may view only its own: the view stays "own".
    grant(world, ["create"], "all", "all")
    actor = grant(world, ["view"], "own", "own", role=second)
    assert keys(visible(actor, Note)) == VISIBLE["own"]
    assert can(actor, "create", Note)
    # Role 1 sees everything but edits nothing; role 2 edits its own: edit stays "own".
    grant(world, ["view"], "all", "all")
    actor = grant(world, ["view", "edit"], "own", "own", role=second)
    assert keys(visible(actor, Note)) == VISIBLE["all"]
    assert keys(editable(actor, Note)) == EDITABLE["own"]
    assert not can(actor, "edit", world.notes["other"])
    # Role 1 deletes its department's notes; role 2 edits only its own.
    grant(world, ["view", "delete"], "department", "department")
    actor = grant(world, ["view", "edit"], "own", "own", role=second)
    assert can(actor, "delete", world.notes["colleague"])
    assert not can(actor, "edit", world.notes["colleague"])
    # Role 1 may export everything but only view its own: export never exceeds view.
    grant(world, ["export"], "all", "none")
    actor = grant(world, ["view"], "own", "own", role=second)
    assert not can(actor, "export", world.notes["other"])
    assert can(actor, "export", world.notes["self"])


@pytest.mark.parametrize("who", ["inactive", "anonymous", "none"])
def test_inactive_and_anonymous_see_nothing(world, who):
    grant(world, FULL, "all", "all")
    if who == "inactive":
        User.objects.filter(pk=world.actor.pk).update(is_active=False)
        actor = fresh(world.actor)
    elif who == "anonymous":
        actor = AnonymousUser()
    else:
        actor = None
    assert not visible(actor, Note).exists()
    assert not editable(actor, Note).exists()
    assert not can(actor, "create", Note)
    assert not is_admin(actor)
    for note in world.notes.values():
        assert not can(actor, "view", note)
        with pytest.raises(NotFound):
            require(actor, "edit", note)


def test_inactive_admin_is_no_admin(world):
    User.objects.filter(pk=world.admin.pk).update(is_active=False)
    admin = fresh(world.admin)
    assert not is_admin(admin)
    assert not visible(admin, Note).exists()


@pytest.mark.parametrize("how", ["role", "superuser"])
def test_admin_sees_and_edits_all(world, how):
    user = UserFactory(username="su", is_superuser=True) if how == "superuser" else world.admin
    assert keys(visible(user, Note)) == set(OWNERS)
    assert keys(editable(user, Note)) == set(OWNERS)
    for note in world.notes.values():
        for action in ("view", "edit", "delete", "export", "import", "administer"):
            assert can(user, action, note)


def test_deleted_records_are_out_of_reach(world):
    actor = grant(world, FULL, "all", "all")
    note = world.notes["self"]
    assert can(actor, "edit", note)
    Note.all_objects.filter(pk=note.pk).update(deleted_at=timezone.now())
    note.refresh_from_db(from_queryset=Note.all_objects.all())
    assert "self" not in keys(visible(actor, Note))
    assert not can(actor, "edit", note)
    assert not can(world.admin, "view", note)
    with pytest.raises(NotFound):
        require(actor, "edit", note)
    with pytest.raises(NotFound):
        visible_get(actor, Note, note.pk)


@pytest.mark.parametrize("pk", ["abc", None, 10**30, -1, "1; DROP TABLE x", "1.5", [1]])
def test_visible_get_bad_ids_are_not_found(world, pk):
    actor = grant(world, FULL, "all", "all")
    with pytest.raises(NotFound):
        visible_get(actor, Note, pk)


def test_visible_on_a_queryset_keeps_the_filter(world):
    actor = grant(world, FULL, "department", "own")
    qs = Note.objects.filter(title__in=["note-self", "note-other"])
    assert keys(visible(actor, qs)) == {"self"}


def test_grants_are_cached_per_request_object(world):
    """A user object caches its grants; clear_cache (or a fresh load) sees new grants."""
    actor = grant(world, FULL, "own", "own")
    assert keys(visible(actor, Note)) == VISIBLE["own"]
    role_grant_set(
        actor=world.admin,
        role=world.role,
        entity="note",
        actions=FULL,
        scope="all",
        edit_scope="all",
    )
    assert keys(visible(actor, Note)) == VISIBLE["own"]
    clear_cache(actor)
    assert keys(visible(actor, Note)) == VISIBLE["all"]


def test_organisation_entities_ignore_scope(world):
    """Users and departments have no owner: a view grant at any scope shows them all."""
    role_grant_set(
        actor=world.admin,
        role=world.role,
        entity="department",
        actions=["view"],
        scope="own",
        edit_scope="none",
    )
    actor = fresh(world.actor)
    assert visible(actor, Department).count() == Department.objects.count()
    assert not can(actor, "edit", world.depts.south)
    with pytest.raises(PermissionDenied):
        require(actor, "edit", world.depts.south)
