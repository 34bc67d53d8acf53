"""Every write to the organisation and permission data: rules, refusals and audit entries."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from crm.access.models import ApiToken, Department, Role, RoleGrant, User
from crm.access.services import (
    department_create,
    department_delete,
    department_update,
    login_token_issue,
    role_create,
    role_delete,
    role_grant_set,
    role_update,
    token_authenticate,
    token_create,
    token_revoke,
    user_create,
    user_set_password,
    user_update,
)
from crm.access.tests.factories import PASSWORD, UserFactory
from crm.access.visibility import is_admin
from crm.audit.models import AuditEntry
from crm.audit.services import audit_verify
from crm.core.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed

STRONG = "Qz7-harbour-lantern"


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq").first()


def entries_since(seq: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=seq).order_by("seq"))


def head_seq() -> int:
    entry = last_entry()
    return entry.seq if entry else 0


# ---------------------------------------------------------------- departments


def test_department_create_sets_path_and_audits(org):
    dept = department_create(actor=org.admin, name="  上海办事处 ", parent=org.east)
    assert dept.name == "上海办事处"
    assert dept.path == f"{org.east.path}{dept.pk}/"
    assert Department.objects.get(pk=dept.pk).path == dept.path
    entry = last_entry()
    assert (entry.action, entry.entity, entry.object_id) == ("create", "department", str(dept.pk))
    assert entry.actor_id == org.admin.pk
    assert entry.changes["name"] == "上海办事处"
    assert entry.changes["parent_id"] == org.east.pk
    root = department_create(actor=org.admin, name="独立子公司")
    assert root.path == f"/{root.pk}/"


@pytest.mark.parametrize(("name", "field"), [("", "name"), ("   ", "name"), ("x" * 101, "name")])
def test_department_create_bad_names(org, name, field):
    with pytest.raises(ValidationFailed) as err:
        department_create(actor=org.admin, name=name, parent=org.east)
    assert err.value.field == field


def test_department_names_unique_per_parent(org):
    with pytest.raises(ValidationFailed) as err:
        department_create(actor=org.admin, name="华南销售部", parent=org.sales)
    assert err.value.field == "name"
    department_create(actor=org.admin, name="华南销售部", parent=org.east)  # elsewhere: fine
    department_create(actor=org.admin, name="集团")
    with pytest.raises(ValidationFailed):
        department_create(actor=org.admin, name="集团")  # two roots with one name


def test_department_writes_need_an_admin(org):
    with pytest.raises(PermissionDenied):
        department_create(actor=org.li_na, name="x", parent=org.east)
    with pytest.raises(PermissionDenied):
        department_update(actor=org.li_na, department=org.east, expected_version=1, name="y")
    with pytest.raises(PermissionDenied):
        department_delete(actor=org.li_na, department=org.north)
    with pytest.raises(PermissionDenied):
        department_create(actor=None, name="x")


def test_department_rename_audits_old_and_new(org):
    seq = head_seq()
    dept = department_update(
        actor=org.admin, department=org.east, expected_version=org.east.version, name="华东大区"
    )
    assert dept.version == 2
    (entry,) = entries_since(seq)
    assert entry.action == "update"
    assert entry.changes == {"name": ["华东销售部", "华东大区"]}


def test_department_move_rebuilds_the_subtree(org):
    shanghai = department_create(actor=org.admin, name="上海", parent=org.east)
    pudong = department_create(actor=org.admin, name="浦东", parent=shanghai)
    seq = head_seq()
    department_update(
        actor=org.admin, department=org.east, expected_version=org.east.version, parent=org.company
    )
    east = Department.objects.get(pk=org.east.pk)
    assert east.path == f"{org.company.path}{east.pk}/"
    assert Department.objects.get(pk=shanghai.pk).path == f"{east.path}{shanghai.pk}/"
    assert Department.objects.get(pk=pudong.pk).path == f"{east.path}{shanghai.pk}/{pudong.pk}/"
    (entry,) = entries_since(seq)
    assert entry.changes == {"parent_id": [org.sales.pk, org.company.pk]}
    # Members of the moved subtree are now in the company's subtree, not the sales centre's.
    assert org.zhang_wei.department.pk == east.pk
    # …and back to a root.
    department_update(actor=org.admin, department=east, expected_version=east.version, parent=None)
    assert Department.objects.get(pk=pudong.pk).path == f"/{east.pk}/{shanghai.pk}/{pudong.pk}/"


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_department_move_under_itself_refused(org, target):
    child = department_create(actor=org.admin, name="上海", parent=org.east)
    grandchild = department_create(actor=org.admin, name="浦东", parent=child)
    parent = {"self": org.east, "child": child, "grandchild": grandchild}[target]
    seq = head_seq()
    for kwargs in ({"parent": parent}, {"parent_id": parent.pk}):
        east = Department.objects.get(pk=org.east.pk)
        with pytest.raises(ValidationFailed) as err:
            department_update(actor=org.admin, department=east, expected_version=None, **kwargs)
        assert err.value.field == "parent"
    assert Department.objects.get(pk=org.east.pk).parent_id == org.sales.pk
    assert entries_since(seq) == []


def test_department_move_with_a_stale_parent_object_is_still_checked(org):
    """The parent in hand was loaded before it moved under the department being moved."""
    stale_north = Department.objects.get(pk=org.north.pk)
    department_update(actor=org.admin, department=org.north, expected_version=None, parent=org.east)
    east = Department.objects.get(pk=org.east.pk)
    with pytest.raises(ValidationFailed):
        department_update(
            actor=org.admin, department=east, expected_version=None, parent=stale_north
        )


def test_department_move_to_a_missing_parent(org):
    with pytest.raises(ValidationFailed) as err:
        department_update(
            actor=org.admin, department=org.east, expected_version=None, parent_id=999999
        )
    assert err.value.field == "parent"


def test_department_update_refusals(org):
    with pytest.raises(StaleVersion) as err:
        department_update(actor=org.admin, department=org.east, expected_version=7, name="新")
    assert err.value.current["name"] == "华东销售部"
    assert err.value.current["version"] == 1
    east = Department.objects.get(pk=org.east.pk)
    with pytest.raises(ValidationFailed) as err:
        department_update(actor=org.admin, department=east, expected_version=1, path="/x/")
    assert err.value.field == "path"
    east = Department.objects.get(pk=org.east.pk)
    with pytest.raises(ValidationFailed) as err:
        department_update(actor=org.admin, department=east, expected_version=1, name="华南销售部")
    assert err.value.field == "name"
    # Moving next to a sibling of the same name is refused as well.
    twin = department_create(actor=org.admin, name="华东销售部", parent=org.company)
    with pytest.raises(ValidationFailed):
        department_update(actor=org.admin, department=twin, expected_version=1, parent=org.sales)


def test_department_delete(org):
    with pytest.raises(ValidationFailed) as err:
        department_delete(actor=org.admin, department=org.sales)  # has sub-departments
    assert err.value.field == "parent"
    with pytest.raises(ValidationFailed) as err:
        department_delete(actor=org.admin, department=org.east)  # has members
    assert err.value.field == "members"
    seq = head_seq()
    pk = org.north.pk
    department_delete(actor=org.admin, department=org.north)
    assert not Department.objects.filter(pk=pk).exists()
    (entry,) = entries_since(seq)
    assert (entry.action, entry.object_id, entry.changes) == (
        "delete",
        str(pk),
        {"name": "华北销售部"},
    )


# ---------------------------------------------------------------- users


def test_user_create_audits_and_assigns_roles(org):
    user = user_create(
        actor=org.admin,
        username=" wu.lei ",
        password=STRONG,
        display_name="吴磊",
        email="wu.lei@example.cn",
        department=org.east,
        manager=org.li_na,
        roles=[org.roles["sales_rep"]],
    )
    assert user.username == "wu.lei"
    assert user.check_password(STRONG)
    assert list(user.roles.all()) == [org.roles["sales_rep"]]
    entry = last_entry()
    assert (entry.action, entry.entity, entry.object_id) == ("create", "user", str(user.pk))
    assert entry.changes["roles"] == ["sales_rep"]
    assert entry.changes["manager_id"] == org.li_na.pk
    assert STRONG not in str(entry.changes)
    nopass = user_create(actor=org.admin, username="nopass")
    assert not nopass.has_usable_password()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "LI.NA"}, "username"),  # case-insensitive uniqueness
        ({"username": "Admin"}, "username"),
        ({"username": ""}, "username"),
        ({"username": "li na"}, "username"),
        ({"username": "x", "email": "not-an-email"}, "email"),
        ({"username": "x", "email": "a@b@c"}, "email"),
        ({"username": "x", "password": "short"}, "password"),
        ({"username": "x", "password": "12345678901"}, "password"),
        ({"username": "x", "password": "password123"}, "password"),
        ({"username": "qiu.shuang", "password": "qiu.shuang1"}, "password"),
    ],
)
def test_user_create_refusals(org, kwargs, field):
    count = User.objects.count()
    with pytest.raises(ValidationFailed) as err:
        user_create(actor=org.admin, **kwargs)
    assert err.value.field == field
    assert User.objects.count() == count


def test_user_create_needs_an_admin(org):
    with pytest.raises(PermissionDenied):
        user_create(actor=org.li_na, username="x")


def test_user_update_audits_old_and_new(org):
    user = User.objects.get(pk=org.zhang_wei.pk)
    seq = head_seq()
    user_update(
        actor=org.admin,
        user=user,
        expected_version=user.version,
        display_name="张伟（华东）",
        department=org.south,
        manager=org.huang_qiang,
    )
    (entry,) = entries_since(seq)
    assert entry.action == "update"
    assert entry.changes["department_id"] == [org.east.pk, org.south.pk]
    assert entry.changes["manager_id"] == [org.li_na.pk, org.huang_qiang.pk]
    assert entry.changes["display_name"][1] == "张伟（华东）"
    with pytest.raises(StaleVersion):
        user_update(actor=org.admin, user=org.zhang_wei, expected_version=1, display_name="x")


def test_user_update_role_change_is_a_permission_entry(org):
    user = User.objects.get(pk=org.zhang_wei.pk)
    seq = head_seq()
    user_update(
        actor=org.admin,
        user=user,
        expected_version=user.version,
        roles=[org.roles["sales_rep"], org.roles["marketing"]],
    )
    (entry,) = entries_since(seq)
    assert entry.action == "permission"
    assert entry.changes == {"roles": [["sales_rep"], ["marketing", "sales_rep"]]}


def test_user_update_username_unique_case_insensitive(org):
    user = User.objects.get(pk=org.zhang_wei.pk)
    with pytest.raises(ValidationFailed) as err:
        user_update(actor=org.admin, user=user, expected_version=user.version, username="Li.Na")
    assert err.value.field == "username"
    user = User.objects.get(pk=org.zhang_wei.pk)
    user_update(actor=org.admin, user=user, expected_version=user.version, username="Zhang.Wei")


@pytest.mark.parametrize("loop", ["self", "two", "three"])
def test_user_manager_cycle_refused(org, loop):
    # li.na manages zhang.wei; sun.hao (director) manages li.na.
    user = User.objects.get(pk=org.li_na.pk)
    new_manager = {"self": org.li_na, "two": org.zhang_wei, "three": org.zhang_wei}[loop]
    if loop == "three":
        user = User.objects.get(pk=org.director.pk)
    with pytest.raises(ValidationFailed) as err:
        user_update(actor=org.admin, user=user, expected_version=user.version, manager=new_manager)
    assert err.value.field == "manager"


def test_cannot_deactivate_self_or_drop_own_admin(org):
    admin = User.objects.get(pk=org.admin.pk)
    with pytest.raises(ValidationFailed) as err:
        user_update(actor=admin, user=admin, expected_version=admin.version, is_active=False)
    assert err.value.field == "is_active"
    admin = User.objects.get(pk=org.admin.pk)
    with pytest.raises(ValidationFailed) as err:
        user_update(
            actor=admin, user=admin, expected_version=admin.version, roles=[org.roles["finance"]]
        )
    assert err.value.field == "roles"
    assert is_admin(User.objects.get(pk=org.admin.pk))
    # Another administrator may do both to a colleague.
    other = UserFactory(username="ops", roles=[org.roles["admin"]])
    user_update(actor=org.admin, user=other, expected_version=other.version, is_active=False)
    other = User.objects.get(pk=other.pk)
    user_update(actor=org.admin, user=other, expected_version=other.version, roles=[])
    assert not other.roles.exists()


def test_user_update_needs_admin_and_known_fields(org):
    user = User.objects.get(pk=org.zhang_wei.pk)
    with pytest.raises(PermissionDenied):
        user_update(actor=org.li_na, user=user, expected_version=user.version, display_name="x")
    with pytest.raises(ValidationFailed) as err:
        user_update(actor=org.admin, user=user, expected_version=user.version, is_superuser=True)
    assert err.value.field == "is_superuser"
    with pytest.raises(ValidationFailed) as err:
        user = User.objects.get(pk=org.zhang_wei.pk)
        user_update(actor=org.admin, user=user, expected_version=user.version, email="bad")
    assert err.value.field == "email"


# ---------------------------------------------------------------- passwords


def test_password_change_by_self_needs_the_old_one(org):
    user = User.objects.get(pk=org.zhang_wei.pk)
    for old in (None, "wrong-password"):
        with pytest.raises(ValidationFailed) as err:
            user_set_password(actor=user, user=user, password=STRONG, old_password=old)
        assert err.value.field == "old_password"
    seq = head_seq()
    user_set_password(actor=user, user=user, password=STRONG, old_password=PASSWORD)
    assert User.objects.get(pk=user.pk).check_password(STRONG)
    (entry,) = entries_since(seq)
    assert entry.changes == {"password": ["***", "***"]}
    assert entry.actor_id == user.pk


@pytest.mark.parametrize("weak", ["short", "12345678901", "password1", "zhang.wei2026"])
def test_password_validators(org, weak):
    user = User.objects.get(pk=org.zhang_wei.pk)
    with pytest.raises(ValidationFailed) as err:
        user_set_password(actor=user, user=user, password=weak, old_password=PASSWORD)
    assert err.value.field == "password"
    assert err.value.message
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_password_reset_by_admin_only(org):
    user_set_password(actor=org.admin, user=org.zhang_wei, password=STRONG)
    assert User.objects.get(pk=org.zhang_wei.pk).check_password(STRONG)
    with pytest.raises(PermissionDenied):
        user_set_password(actor=org.li_na, user=org.zhang_wei, password=STRONG + "x")


# ---------------------------------------------------------------- roles and grants


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [
        ("Sales", "销售", "code"),
        ("销售", "销售", "code"),
        ("a b", "x", "code"),
        ("", "x", "code"),
        ("admin", "重复", "code"),
        ("ok-code", "  ", "name"),
    ],
)
def test_role_create_refusals(org, code, name, field):
    with pytest.raises(ValidationFailed) as err:
        role_create(actor=org.admin, code=code, name=name)
    assert err.value.field == field


def test_role_create_update_delete_audited(org):
    seq = head_seq()
    role = role_create(actor=org.admin, code="key_account", name="大客户经理")
    role = role_update(actor=org.admin, role=role, expected_version=1, name="大客户")
    role_delete(actor=org.admin, role=role)
    created, updated, deleted = entries_since(seq)
    assert all(e.action == "permission" for e in (created, updated, deleted))
    assert created.changes["created"]["code"] == "key_account"
    assert updated.changes == {"name": ["大客户经理", "大客户"]}
    assert deleted.changes == {"deleted": "key_account"}
    with pytest.raises(PermissionDenied):
        role_create(actor=org.li_na, code="x", name="x")


def test_role_in_use_cannot_be_deleted(org):
    with pytest.raises(ValidationFailed) as err:
        role_delete(actor=org.admin, role=org.roles["sales_rep"])
    assert err.value.field == "users"


def test_last_admin_role_keeps_admin_rights(org):
    admin_role = Role.objects.get(pk=org.roles["admin"].pk)
    with pytest.raises(ValidationFailed) as err:
        role_update(
            actor=org.admin, role=admin_role, expected_version=admin_role.version, is_admin=False
        )
    assert err.value.field == "is_admin"
    assert Role.objects.get(pk=admin_role.pk).is_admin
    # With another administrator (a superuser), the role may lose the flag.
    UserFactory(username="root", is_superuser=True)
    role_update(
        actor=org.admin, role=admin_role, expected_version=admin_role.version, is_admin=False
    )


def test_grant_set_validates(org):
    role = org.roles["sales_rep"]
    cases = [
        ({"actions": ["view", "fly"]}, "actions"),
        ({"actions": ["administer"]}, "actions"),  # notes offer no "administer"
        ({"actions": ["view"], "scope": "planet"}, "scope"),
        ({"actions": ["view"], "edit_scope": "planet"}, "edit_scope"),
        ({"actions": ["view", "edit"], "scope": "own", "edit_scope": "department"}, "edit_scope"),
        ({"actions": ["view"], "scope": "none", "edit_scope": "own"}, "edit_scope"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationFailed) as err:
            role_grant_set(actor=org.admin, role=role, entity="note", **kwargs)
        assert err.value.field == field, kwargs
    with pytest.raises(ValidationFailed) as err:
        role_grant_set(actor=org.admin, role=role, entity="department", actions=["import"])
    assert err.value.field == "actions"
    with pytest.raises(ValidationFailed) as err:
        role_grant_set(actor=org.admin, role=role, entity="spaceship", actions=["view"])
    assert err.value.field == "entity"
    with pytest.raises(PermissionDenied):
        role_grant_set(actor=org.li_na, role=role, entity="note", actions=["view"])


def test_grant_set_stores_removes_and_audits(org):
    role = org.roles["sales_rep"]
    seq = head_seq()
    grant = role_grant_set(
        actor=org.admin,
        role=role,
        entity="note",
        actions=["edit", "view", "view"],
        scope="department",
        edit_scope="own",
    )
    assert grant.actions == ["view", "edit"]
    role_grant_set(  # no change: no entry
        actor=org.admin,
        role=role,
        entity="note",
        actions=["view", "edit"],
        scope="department",
        edit_scope="own",
    )
    assert role_grant_set(actor=org.admin, role=role, entity="note", actions=[]) is None
    assert not RoleGrant.objects.filter(role=role, entity="note").exists()
    set_entry, removed_entry = entries_since(seq)
    assert set_entry.changes == {
        "entity": "note",
        "grant": [{}, {"actions": ["view", "edit"], "scope": "department", "edit_scope": "own"}],
    }
    assert removed_entry.changes["grant"][1] == {}


# ---------------------------------------------------------------- API tokens


def test_token_value_shown_once_and_stored_hashed(org):
    token, value = token_create(actor=org.zhang_wei, name="报表脚本")
    assert value.startswith("crm_")
    assert token.key_hash == hashlib.sha256(value.encode()).hexdigest()
    assert token.prefix == value[:12]
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert value not in {str(v) for v in stored.values()}
    entry = last_entry()
    assert (entry.action, entry.actor_id) == ("token", org.zhang_wei.pk)
    assert value not in str(entry.changes)
    assert token_authenticate(value) == org.zhang_wei
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.parametrize("value", ["", "crm_", "crm_nope", "Bearer x", "crm_" + "x" * 300])
def test_token_authenticate_unknown(org, value):
    token_create(actor=org.zhang_wei, name="t")
    assert token_authenticate(value) is None


def test_token_revoke_expire_and_inactive_user(org):
    token, value = token_create(actor=org.zhang_wei, name="一次性")
    with pytest.raises(NotFound):
        token_revoke(actor=org.li_na, token_id=token.pk)  # someone else's token
    assert token_authenticate(value) == org.zhang_wei
    seq = head_seq()
    token_revoke(actor=org.zhang_wei, token_id=token.pk)
    token_revoke(actor=org.zhang_wei, token_id=token.pk)  # idempotent, one entry
    assert token_authenticate(value) is None
    assert [e.changes for e in entries_since(seq)] == [{"revoked": "一次性"}]

    _t, expired = token_create(
        actor=org.zhang_wei, name="过期", expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert token_authenticate(expired) is None

    _t, live = token_create(actor=org.wang_fang, name="有效")
    assert token_authenticate(live) == org.wang_fang
    User.objects.filter(pk=org.wang_fang.pk).update(is_active=False)
    assert token_authenticate(live) is None


def test_token_name_required(org):
    for name in ("", "   ", "x" * 101):
        with pytest.raises(ValidationFailed) as err:
            token_create(actor=org.zhang_wei, name=name)
        assert err.value.field == "name"


def test_login_token_issue(org):
    value = login_token_issue(user=org.li_na)
    assert token_authenticate(value) == org.li_na


def test_the_chain_stays_valid_after_all_these_writes(org):
    department_create(actor=org.admin, name="深圳", parent=org.south)
    user_create(actor=org.admin, username="new.rep", password=STRONG)
    token_create(actor=org.li_na, name="t")
    result = audit_verify()
    assert result.ok, result.problems
    assert result.checked == AuditEntry.objects.count()
