"""Every write to the organisation and the permission data. Each one is audited."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.models import (
    ACCESS_RANK,
    SCOPE_RANK,
    ApiToken,
    Department,
    FieldAccess,
    FieldRule,
    Role,
    RoleGrant,
    Scope,
    User,
)
from crm.access.registry import entity_exists, entity_get
from crm.access.visibility import ALL_ACTIONS, clear_cache, is_admin
from crm.audit.services import audit_record, diff
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.versioning import save_with_version


def _require_admin(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改组织与权限"))


def _snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


# ---------------------------------------------------------------- departments

DEPARTMENT_FIELDS = ["name", "parent_id", "manager_id", "sort", "is_active"]


def _department_check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写部门名称"), field="name")
    if len(name) > 100:
        raise ValidationFailed(_("部门名称不能超过 100 个字符"), field="name")
    return name


def _department_rebuild_paths(dept: Department) -> None:
    """Recompute the materialised path of `dept` and all its descendants.

    Paths are read from the database, not from the objects in hand: a caller's `parent`
    may have been loaded before another move changed its path.
    """
    parent_path = "/"
    if dept.parent_id:
        parent_path = (
            Department.objects.filter(pk=dept.parent_id).values_list("path", flat=True).get()
        )
    new_path = f"{parent_path}{dept.pk}/"
    old_path = Department.objects.filter(pk=dept.pk).values_list("path", flat=True).get()
    dept.path = new_path
    if old_path == new_path:
        return
    Department.objects.filter(pk=dept.pk).update(path=new_path)
    if old_path and old_path != "/":
        for child in Department.objects.filter(path__startswith=old_path).exclude(pk=dept.pk):
            Department.objects.filter(pk=child.pk).update(
                path=new_path + child.path[len(old_path) :]
            )


def _department_check_parent(department: Department, parent_id: int | None) -> None:
    """Refuse a parent that is missing, the department itself or one of its descendants."""
    if parent_id is None:
        return
    if parent_id == department.pk:
        raise ValidationFailed(_("不能把部门移到它自己或它的下级部门之下"), field="parent")
    # Fresh paths from the database (and locked): the objects in hand may be stale.
    rows = dict(
        Department.objects.select_for_update()
        .filter(pk__in=[parent_id, department.pk])
        .values_list("pk", "path")
    )
    if parent_id not in rows:
        raise ValidationFailed(_("上级部门不存在"), field="parent")
    if rows[parent_id].startswith(rows[department.pk]):
        raise ValidationFailed(_("不能把部门移到它自己或它的下级部门之下"), field="parent")


@transaction.atomic
def department_create(
    *,
    actor: Any,
    name: str,
    parent: Department | None = None,
    manager: User | None = None,
    sort: int = 0,
) -> Department:
    _require_admin(actor)
    name = _department_check_name(name)
    if Department.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(_("同一上级下已有同名部门"), field="name")
    dept = Department.objects.create(name=name, parent=parent, manager=manager, sort=sort)
    _department_rebuild_paths(dept)
    audit_record(action="create", actor=actor, obj=dept, changes=_snapshot(dept, DEPARTMENT_FIELDS))
    return dept


@transaction.atomic
def department_update(
    *, actor: Any, department: Department, expected_version: int | None, **changes: Any
) -> Department:
    _require_admin(actor)
    before = _snapshot(department, DEPARTMENT_FIELDS)
    if "name" in changes:
        changes["name"] = _department_check_name(changes["name"])
    if "parent" in changes:
        parent = changes.pop("parent")
        changes["parent_id"] = parent.pk if parent is not None else None
    if "parent_id" in changes:
        _department_check_parent(department, changes["parent_id"])
    if "manager" in changes:
        manager = changes.pop("manager")
        changes["manager_id"] = manager.pk if manager is not None else None
    for key, value in changes.items():
        if key not in DEPARTMENT_FIELDS:
            raise ValidationFailed(_("未知字段"), field=key)
        setattr(department, key, value)
    if (
        Department.objects.filter(parent_id=department.parent_id, name=department.name)
        .exclude(pk=department.pk)
        .exists()
    ):
        raise ValidationFailed(_("同一上级下已有同名部门"), field="name")
    save_with_version(department, expected_version=expected_version, fields=DEPARTMENT_FIELDS)
    department.refresh_from_db()
    _department_rebuild_paths(department)
    changed = diff(before, _snapshot(department, DEPARTMENT_FIELDS))
    if changed:
        audit_record(action="update", actor=actor, obj=department, changes=changed)
    return department


@transaction.atomic
def department_delete(*, actor: Any, department: Department) -> None:
    """Departments are organisation data, not customer records: refused while in use."""
    _require_admin(actor)
    if department.children.exists():
        raise ValidationFailed(_("请先移走或删除下级部门"), field="parent")
    if department.members.exists():
        raise ValidationFailed(_("部门下还有成员，请先调整成员的部门"), field="members")
    audit_record(action="delete", actor=actor, obj=department, changes={"name": department.name})
    department.delete()


# ---------------------------------------------------------------- users

USER_FIELDS = [
    "username",
    "display_name",
    "email",
    "mobile",
    "department_id",
    "manager_id",
    "is_active",
]


def _user_check(user: User) -> None:
    if not user.username or not user.username.strip():
        raise ValidationFailed(_("请填写用户名"), field="username")
    try:
        User._meta.get_field("username").run_validators(user.username)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("用户名只能包含字母、数字和 @/./+/-/_"), field="username") from exc
    if User.objects.filter(username__iexact=user.username).exclude(pk=user.pk).exists():
        raise ValidationFailed(_("用户名已被使用"), field="username")
    if user.email:
        from django.core.validators import validate_email

        try:
            validate_email(user.email)
        except DjangoValidationError as exc:
            raise ValidationFailed(_("邮箱格式不正确"), field="email") from exc
    # A manager chain must not loop back to the user.
    seen = {user.pk}
    manager_id = user.manager_id
    while manager_id is not None:
        if manager_id in seen:
            raise ValidationFailed(_("上级关系不能形成循环"), field="manager")
        seen.add(manager_id)
        manager_id = User.objects.filter(pk=manager_id).values_list("manager_id", flat=True).first()


def _password_check(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password") from exc


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None = None,
    display_name: str = "",
    email: str = "",
    mobile: str = "",
    department: Department | None = None,
    manager: User | None = None,
    roles: list[Role] | None = None,
    is_active: bool = True,
    validate_pw: bool = True,
) -> User:
    if actor is not None:  # None: the system itself (createadmin, demo)
        _require_admin(actor)
    user = User(
        username=(username or "").strip(),
        display_name=(display_name or "").strip(),
        email=(email or "").strip(),
        mobile=(mobile or "").strip(),
        department=department,
        manager=manager,
        is_active=is_active,
    )
    _user_check(user)
    if password:
        if validate_pw:
            _password_check(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationFailed(_("用户名已被使用"), field="username") from exc
    if roles:
        user.roles.set(roles)
    audit_record(
        action="create",
        actor=actor,
        obj=user,
        changes={**_snapshot(user, USER_FIELDS), "roles": [r.code for r in roles or []]},
    )
    return user


@transaction.atomic
def user_update(*, actor: Any, user: User, expected_version: int | None, **changes: Any) -> User:
    _require_admin(actor)
    before = _snapshot(user, USER_FIELDS)
    before_roles = sorted(user.roles.values_list("code", flat=True))
    roles = changes.pop("roles", None)
    for rel in ("department", "manager"):
        if rel in changes:
            value = changes.pop(rel)
            changes[f"{rel}_id"] = value.pk if value is not None else None
    for key, value in changes.items():
        if key not in USER_FIELDS:
            raise ValidationFailed(_("未知字段"), field=key)
        setattr(user, key, value.strip() if isinstance(value, str) else value)
    if user.pk == getattr(actor, "pk", None) and not user.is_active:
        raise ValidationFailed(_("不能停用自己的账号"), field="is_active")
    _user_check(user)
    save_with_version(user, expected_version=expected_version, fields=USER_FIELDS)
    changed = diff(before, _snapshot(user, USER_FIELDS))
    if roles is not None:
        removes_own_admin = user.pk == getattr(actor, "pk", None) and not any(
            r.is_admin for r in roles
        )
        if removes_own_admin and not user.is_superuser:
            raise ValidationFailed(_("不能移除自己的管理员角色"), field="roles")
        user.roles.set(roles)
        after_roles = sorted(r.code for r in roles)
        if after_roles != before_roles:
            audit_record(
                action="permission",
                actor=actor,
                obj=user,
                changes={"roles": [before_roles, after_roles]},
            )
    if changed:
        audit_record(action="update", actor=actor, obj=user, changes=changed)
    clear_cache(user)
    return user


@transaction.atomic
def user_set_password(
    *, actor: Any, user: User, password: str, old_password: str | None = None
) -> User:
    """A user changes their own password (old one required), or an administrator resets it."""
    if actor.pk == user.pk:
        if old_password is None or not user.check_password(old_password):
            raise ValidationFailed(_("原密码不正确"), field="old_password")
    else:
        _require_admin(actor)
    _password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(action="update", actor=actor, obj=user, changes={"password": ["***", "***"]})
    return user


# ---------------------------------------------------------------- roles and grants


def _role_check(code: str, name: str, role: Role | None = None) -> tuple[str, str]:
    from django.utils.text import slugify

    code = (code or "").strip()
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写角色名称"), field="name")
    if not code or slugify(code) != code:
        raise ValidationFailed(_("代码只能包含小写字母、数字、- 和 _"), field="code")
    qs = Role.objects.filter(code=code)
    if role is not None:
        qs = qs.exclude(pk=role.pk)
    if qs.exists():
        raise ValidationFailed(_("角色代码已存在"), field="code")
    return code, name


@transaction.atomic
def role_create(
    *, actor: Any, code: str, name: str, description: str = "", is_admin: bool = False
) -> Role:
    if actor is not None:
        _require_admin(actor)
    code, name = _role_check(code, name)
    role = Role.objects.create(code=code, name=name, description=description, is_admin=is_admin)
    audit_record(
        action="permission",
        actor=actor,
        obj=role,
        changes={"created": {"code": code, "name": name, "is_admin": is_admin}},
    )
    return role


@transaction.atomic
def role_update(*, actor: Any, role: Role, expected_version: int | None, **changes: Any) -> Role:
    _require_admin(actor)
    fields = ["code", "name", "description", "is_admin"]
    before = _snapshot(role, fields)
    for key, value in changes.items():
        if key not in fields:
            raise ValidationFailed(_("未知字段"), field=key)
        setattr(role, key, value)
    role.code, role.name = _role_check(role.code, role.name, role)
    if before["is_admin"] and not role.is_admin and _would_leave_no_admin(role):
        raise ValidationFailed(_("至少要保留一个可用的系统管理员"), field="is_admin")
    save_with_version(role, expected_version=expected_version, fields=fields)
    changed = diff(before, _snapshot(role, fields))
    if changed:
        audit_record(action="permission", actor=actor, obj=role, changes=changed)
    return role


def _would_leave_no_admin(role: Role) -> bool:
    others = (
        User.objects.filter(is_active=True)
        .filter(roles__is_admin=True)
        .exclude(roles=role)
        .exists()
    )
    superusers = User.objects.filter(is_active=True, is_superuser=True).exists()
    return not (others or superusers)


@transaction.atomic
def role_delete(*, actor: Any, role: Role) -> None:
    _require_admin(actor)
    if role.users.exists():
        raise ValidationFailed(_("还有用户使用此角色，请先调整这些用户的角色"), field="users")
    audit_record(action="permission", actor=actor, obj=role, changes={"deleted": role.code})
    role.delete()


def _check_entity(entity: str) -> None:
    if not entity_exists(entity):
        raise ValidationFailed(_("未知的对象类型"), field="entity")


@transaction.atomic
def role_grant_set(
    *,
    actor: Any,
    role: Role,
    entity: str,
    actions: list[str],
    scope: str = Scope.OWN,
    edit_scope: str = Scope.OWN,
) -> RoleGrant | None:
    """Set one role's grant on one entity; an empty action list removes the grant."""
    if actor is not None:
        _require_admin(actor)
    _check_entity(entity)
    # Only the actions the entity offers (no "import" of departments, no "administer" of notes).
    unknown = [a for a in actions if a not in ALL_ACTIONS or a not in entity_get(entity).actions]
    if unknown:
        raise ValidationFailed(_("未知的操作：%s") % ", ".join(unknown), field="actions")
    if scope not in SCOPE_RANK:
        raise ValidationFailed(_("未知的数据范围"), field="scope")
    if edit_scope not in SCOPE_RANK:
        raise ValidationFailed(_("未知的数据范围"), field="edit_scope")
    if SCOPE_RANK[edit_scope] > SCOPE_RANK[scope]:
        raise ValidationFailed(_("可编辑范围不能大于可见范围"), field="edit_scope")
    existing = RoleGrant.objects.filter(role=role, entity=entity).first()
    before = (
        {"actions": existing.actions, "scope": existing.scope, "edit_scope": existing.edit_scope}
        if existing
        else {}
    )
    ordered = [a for a in ALL_ACTIONS_ORDER if a in set(actions)]
    grant: RoleGrant | None
    if not ordered:
        if existing:
            existing.delete()
        grant = None
        after: dict[str, Any] = {}
    else:
        grant, _created = RoleGrant.objects.update_or_create(
            role=role,
            entity=entity,
            defaults={"actions": ordered, "scope": scope, "edit_scope": edit_scope},
        )
        after = {"actions": ordered, "scope": scope, "edit_scope": edit_scope}
    if before != after:
        audit_record(
            action="permission",
            actor=actor,
            obj=role,
            changes={"entity": entity, "grant": [before, after]},
        )
    return grant


ALL_ACTIONS_ORDER = ["view", "create", "edit", "delete", "export", "import", "administer"]


@transaction.atomic
def field_rule_set(
    *, actor: Any, role: Role, entity: str, field: str, access: str
) -> FieldRule | None:
    """Set a role's access to one field; 'editable' (the default) removes the rule."""
    if actor is not None:
        _require_admin(actor)
    _check_entity(entity)
    if entity_get(entity).field(field) is None:
        raise ValidationFailed(_("该对象没有这个字段"), field="field")
    if access not in ACCESS_RANK:
        raise ValidationFailed(_("未知的访问级别"), field="access")
    existing = FieldRule.objects.filter(role=role, entity=entity, field=field).first()
    before = existing.access if existing else FieldAccess.EDITABLE
    rule: FieldRule | None
    if access == FieldAccess.EDITABLE:
        if existing:
            existing.delete()
        rule = None
    else:
        rule, _created = FieldRule.objects.update_or_create(
            role=role, entity=entity, field=field, defaults={"access": access}
        )
    if before != access:
        audit_record(
            action="permission",
            actor=actor,
            obj=role,
            changes={"entity": entity, "field": field, "access": [before, access]},
        )
    return rule


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "crm_"  # noqa: S105  (a public prefix, not a secret)


def _token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(*, actor: Any, name: str, expires_at: Any = None) -> tuple[ApiToken, str]:
    """Create a personal token; returns (token, clear value). The value is not stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请为令牌起个名字，便于以后识别和撤销"), field="name")
    if len(name) > 100:
        raise ValidationFailed(_("名称不能超过 100 个字符"), field="name")
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=value[:12], key_hash=_token_hash(value), expires_at=expires_at
    )
    audit_record(action="token", actor=actor, obj=token, changes={"created": name})
    return token, value


@transaction.atomic
def token_revoke(*, actor: Any, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="token", actor=actor, obj=token, changes={"revoked": token.name})
    return token


def token_authenticate(value: str) -> User | None:
    """The user a bearer token belongs to, or None (unknown, revoked, expired, inactive)."""
    if not value or not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_token_hash(value)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Touch at most once a minute: a token used in a loop must not write on every call.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def login_token_issue(*, user: User) -> str:
    """POST /api/v1/auth/token: a token for scripts, named after the moment it was issued."""
    _token, value = token_create(
        actor=user, name=_("API 登录 %s") % timezone.localtime().strftime("%Y-%m-%d %H:%M")
    )
    return value
