"""Authentication, the current user, personal tokens, and the organisation
(users, departments, roles with their grants and field rules, the entity registry).

Thin: parse input, call one selector or service, render. Reads go through
crm.access.selectors (the permission layer), writes through crm.access.services (which
refuse non-administrators), records leave through crm.access.fieldsec.present().
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from crm.access import selectors, services
from crm.access.fieldsec import field_level, present
from crm.access.models import Action, ApiToken, Department, FieldAccess, Role, Scope, User
from crm.access.registry import Entity, entity_list
from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    INT32_MIN,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    enum_schema,
    page_out,
    paginate_api,
    paginate_sequence,
)
from crm.core.errors import DomainError, NotFound, ValidationFailed

router = Router(tags=["organisation"])


class LoginLocked(DomainError):
    """Too many failed logins for this username from this address (django-axes)."""

    status = 429


def _resolve(getter: Callable[..., Any], field: str, actor: Any, pk: int | None) -> Any:
    """A referenced record chosen by id in the body: missing or invisible is the field's fault."""
    if pk is None:
        return None
    try:
        return getter(actor, pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _department_ref(actor: Any, pk: int | None, field: str = "department_id") -> Any:
    return _resolve(
        lambda a, i: selectors.department_get(actor=a, department_id=i), field, actor, pk
    )


def _user_ref(actor: Any, pk: int | None, field: str = "manager_id") -> Any:
    return _resolve(lambda a, i: selectors.user_get(actor=a, user_id=i), field, actor, pk)


def _roles_ref(actor: Any, ids: list[int]) -> list[Role]:
    return [
        _resolve(lambda a, i: selectors.role_get(actor=a, role_id=i), "role_ids", actor, pk)
        for pk in dict.fromkeys(ids)
    ]


# ---------------------------------------------------------------- authentication


class TokenIn(Schema):
    username: Text = Field(max_length=150)
    password: Text = Field(max_length=4096)


class TokenOut(Schema):
    token: str


@router.post("/auth/token", auth=None, response={200: TokenOut, **ERRORS}, tags=["auth"])
def auth_token(request: HttpRequest, payload: TokenIn) -> dict:
    """Exchange a username and password for a bearer token (lockout rules apply)."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        # django-axes flags the request; its middleware would replace our answer with the
        # HTML lockout page. The API answers in its own JSON format instead.
        request.axes_locked_out = False  # type: ignore[attr-defined]
        raise LoginLocked(_("登录失败次数过多，账号已被暂时锁定，请稍后再试"), field="username")
    if user is None or not user.is_active:
        raise ValidationFailed(_("用户名或密码不正确"), field="password")
    return {"token": services.login_token_issue(user=user)}


class RoleRef(Schema):
    id: int
    code: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    department_id: int | None
    department: str | None
    manager_id: int | None
    roles: list[RoleRef]
    is_admin: bool


@router.get("/me", response={200: MeOut, **ERRORS}, tags=["auth"])
def me(request: HttpRequest) -> dict:
    from crm.access.visibility import is_admin

    user = request.user
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,  # type: ignore[union-attr]
        "email": user.email,  # type: ignore[union-attr]
        "department_id": user.department_id,  # type: ignore[union-attr]
        "department": str(user.department) if user.department_id else None,  # type: ignore[union-attr]
        "manager_id": user.manager_id,  # type: ignore[union-attr]
        "roles": list(user.roles.all()),  # type: ignore[union-attr]
        "is_admin": is_admin(user),
    }


# ---------------------------------------------------------------- personal tokens


class PersonalTokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_active: bool


class PersonalTokenCreatedOut(PersonalTokenOut):
    token: str = Field(description="令牌明文，只在创建时返回一次")


class PersonalTokenIn(Schema):
    name: Text = Field(max_length=100)
    expires_at: dt.datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _expires_in_range(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if timezone.is_naive(value):
            if not 2 <= value.year <= 9998:
                raise ValueError(_("过期时间超出范围"))
            value = timezone.make_aware(value)
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError as exc:
            raise ValueError(_("过期时间超出范围")) from exc
        if not 2000 <= value.year <= 9998:
            raise ValueError(_("过期时间超出范围"))
        return value


def _token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "is_active": token.is_active,
    }


@router.get("/tokens", response={200: PageOut[PersonalTokenOut], **ERRORS}, tags=["auth"])
def token_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    """The caller's own tokens (never anyone else's), newest first."""
    page = paginate_api(
        selectors.token_list(actor=request.user),
        ordering=("-id",),
        cursor=params.cursor,
        limit=params.limit,
    )
    return page_out(page, _token_out)


@router.post("/tokens", response={201: PersonalTokenCreatedOut, **ERRORS}, tags=["auth"])
def token_create(request: HttpRequest, payload: PersonalTokenIn) -> Status:
    """Create a personal token; its value is in the response once and is not stored."""
    token, value = services.token_create(
        actor=request.user, name=payload.name, expires_at=payload.expires_at
    )
    return Status(201, {**_token_out(token), "token": value})


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS}, tags=["auth"])
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    """Revoke one of the caller's tokens (another user's token id is a 404)."""
    services.token_revoke(actor=request.user, token_id=token_id)
    return Status(204, None)


# ---------------------------------------------------------------- users


class UserOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    username: str | None = None
    display_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    department_id: int | None = None
    department: str | None = None
    manager_id: int | None = None
    manager: str | None = None
    roles: list[RoleRef] = []
    is_active: bool
    last_login: dt.datetime | None = None
    date_joined: dt.datetime | None = None


def _person_name(actor: Any, user: User | None) -> str | None:
    if user is None:
        return None
    shown = present(actor, user, ["display_name", "username"])
    return shown.get("display_name") or shown.get("username") or None


def _user_out(actor: Any, user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "version": user.version,
        **present(actor, user),
        "department_id": user.department_id,
        "department": user.department.name if user.department else None,
        "manager_id": user.manager_id,
        "manager": _person_name(actor, user.manager),
        "roles": [{"id": r.pk, "code": r.code, "name": r.name} for r in user.roles.all()],
        "is_active": user.is_active,
        "last_login": user.last_login,
        "date_joined": user.date_joined,
    }


class UserFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="用户名、姓名或邮箱包含")
    department_id: int | None = Field(None, description="部门（含下级部门）")
    active: bool | None = None


class UserCreateIn(Schema):
    username: Text = Field(max_length=150)
    password: Text | None = Field(None, max_length=4096, description="不填则不能用密码登录")
    display_name: Text = Field("", max_length=100)
    email: Text = Field("", max_length=254)
    mobile: Text = Field("", max_length=32)
    department_id: Id | None = None
    manager_id: Id | None = None
    role_ids: list[Id] = Field(default_factory=list, max_length=100)
    is_active: bool = True


class UserPatchIn(Schema):
    """Only the fields sent are changed; `version` is the one the client loaded."""

    version: int = Field(ge=0, le=INT32_MAX)
    # Fields that cannot be null: omit them to keep the value (null is refused).
    username: Text = Field(UNSET, max_length=150)
    display_name: Text = Field(UNSET, max_length=100)
    email: Text = Field(UNSET, max_length=254)
    mobile: Text = Field(UNSET, max_length=32)
    department_id: Id | None = None
    manager_id: Id | None = None
    role_ids: list[Id] = Field(UNSET, max_length=100)
    is_active: bool = Field(UNSET)


@router.get("/users", response={200: PageOut[UserOut], **ERRORS}, exclude_unset=True)
def user_list(request: HttpRequest, filters: Query[UserFilters]) -> dict:
    actor = request.user
    qs = selectors.user_list(
        actor=actor,
        q=filters.q or "",
        department_id=filters.department_id,
        active=filters.active,
    )
    page = paginate_api(qs, ordering=("id",), cursor=filters.cursor, limit=filters.limit)
    return page_out(page, lambda u: _user_out(actor, u))


@router.post("/users", response={201: UserOut, **ERRORS}, exclude_unset=True)
def user_create(request: HttpRequest, payload: UserCreateIn) -> Status:
    actor = request.user
    user = services.user_create(
        actor=actor,
        username=payload.username,
        password=payload.password or None,
        display_name=payload.display_name,
        email=payload.email,
        mobile=payload.mobile,
        department=_department_ref(actor, payload.department_id),
        manager=_user_ref(actor, payload.manager_id),
        roles=_roles_ref(actor, payload.role_ids),
        is_active=payload.is_active,
    )
    return Status(201, _user_out(actor, user))


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, exclude_unset=True)
def user_detail(request: HttpRequest, user_id: int) -> dict:
    return _user_out(request.user, selectors.user_get(actor=request.user, user_id=user_id))


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS}, exclude_unset=True)
def user_update(request: HttpRequest, user_id: int, payload: UserPatchIn) -> dict:
    """A stale `version` is refused with 409 and the record's current values."""
    actor = request.user
    user = selectors.user_get(actor=actor, user_id=user_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if "department_id" in changes:
        changes["department"] = _department_ref(actor, changes.pop("department_id"))
    if "manager_id" in changes:
        changes["manager"] = _user_ref(actor, changes.pop("manager_id"))
    if "role_ids" in changes:
        changes["roles"] = _roles_ref(actor, changes.pop("role_ids"))
    user = services.user_update(actor=actor, user=user, expected_version=version, **changes)
    return _user_out(actor, selectors.user_get(actor=actor, user_id=user.pk))


# ---------------------------------------------------------------- departments


class DepartmentOut(Schema):
    id: int
    version: int
    name: str | None = None
    parent_id: int | None = None
    manager_id: int | None = None
    manager: str | None = None
    path: str
    depth: int
    sort: int
    is_active: bool
    member_count: int | None = Field(None, description="启用的成员数（仅列表中提供）")


def _department_out(actor: Any, dept: Department) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dept.pk,
        "version": dept.version,
        **present(actor, dept),
        "parent_id": dept.parent_id,
        "manager_id": dept.manager_id,
        "manager": _person_name(actor, dept.manager),
        "path": dept.path,
        "depth": dept.depth,
        "sort": dept.sort,
        "is_active": dept.is_active,
    }
    if hasattr(dept, "member_count"):
        out["member_count"] = dept.member_count
    return out


class DepartmentCreateIn(Schema):
    name: Text = Field(max_length=100)
    parent_id: Id | None = None
    manager_id: Id | None = None
    sort: int = Field(0, ge=INT32_MIN, le=INT32_MAX)


class DepartmentPatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=100)
    parent_id: Id | None = None
    manager_id: Id | None = None
    sort: int = Field(UNSET, ge=INT32_MIN, le=INT32_MAX)
    is_active: bool = Field(UNSET)


@router.get("/departments", response={200: PageOut[DepartmentOut], **ERRORS}, exclude_unset=True)
def department_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    """Departments in tree order (a parent before its children)."""
    actor = request.user
    page = paginate_api(
        selectors.department_list(actor=actor),
        ordering=("path", "id"),
        cursor=params.cursor,
        limit=params.limit,
    )
    return page_out(page, lambda d: _department_out(actor, d))


@router.post("/departments", response={201: DepartmentOut, **ERRORS}, exclude_unset=True)
def department_create(request: HttpRequest, payload: DepartmentCreateIn) -> Status:
    actor = request.user
    dept = services.department_create(
        actor=actor,
        name=payload.name,
        parent=_department_ref(actor, payload.parent_id, "parent_id"),
        manager=_user_ref(actor, payload.manager_id),
        sort=payload.sort,
    )
    return Status(201, _department_out(actor, dept))


@router.get(
    "/departments/{department_id}", response={200: DepartmentOut, **ERRORS}, exclude_unset=True
)
def department_detail(request: HttpRequest, department_id: int) -> dict:
    actor = request.user
    dept = selectors.department_get(actor=actor, department_id=department_id)
    return _department_out(actor, dept)


@router.patch(
    "/departments/{department_id}", response={200: DepartmentOut, **ERRORS}, exclude_unset=True
)
def department_update(request: HttpRequest, department_id: int, payload: DepartmentPatchIn) -> dict:
    actor = request.user
    dept = selectors.department_get(actor=actor, department_id=department_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if "parent_id" in changes:
        changes["parent"] = _department_ref(actor, changes.pop("parent_id"), "parent_id")
    if "manager_id" in changes:
        changes["manager"] = _user_ref(actor, changes.pop("manager_id"))
    dept = services.department_update(
        actor=actor, department=dept, expected_version=version, **changes
    )
    return _department_out(actor, dept)


@router.delete("/departments/{department_id}", response={204: None, **ERRORS})
def department_delete(request: HttpRequest, department_id: int) -> Status:
    """Refused (422) while the department has sub-departments or members."""
    actor = request.user
    dept = selectors.department_get(actor=actor, department_id=department_id)
    services.department_delete(actor=actor, department=dept)
    return Status(204, None)


# ---------------------------------------------------------------- roles, grants, field rules


class RoleOut(Schema):
    id: int
    version: int
    code: str
    name: str | None = None
    description: str | None = None
    is_admin: bool
    user_count: int | None = Field(None, description="使用此角色的用户数（仅列表中提供）")


def _role_out(actor: Any, role: Role) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": role.pk,
        "version": role.version,
        "code": role.code,
        **present(actor, role),
        "is_admin": role.is_admin,
    }
    if hasattr(role, "user_count"):
        out["user_count"] = role.user_count
    return out


class RoleCreateIn(Schema):
    code: Text = Field(max_length=50, description="小写字母、数字、- 和 _")
    name: Text = Field(max_length=100)
    description: Text = Field("", max_length=2000)
    is_admin: bool = False


class RolePatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    code: Text = Field(UNSET, max_length=50)
    name: Text = Field(UNSET, max_length=100)
    description: Text = Field(UNSET, max_length=2000)
    is_admin: bool = Field(UNSET)


@router.get("/roles", response={200: PageOut[RoleOut], **ERRORS}, exclude_unset=True)
def role_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    actor = request.user
    page = paginate_api(
        selectors.role_list(actor=actor), ordering=("id",), cursor=params.cursor, limit=params.limit
    )
    return page_out(page, lambda r: _role_out(actor, r))


@router.post("/roles", response={201: RoleOut, **ERRORS}, exclude_unset=True)
def role_create(request: HttpRequest, payload: RoleCreateIn) -> Status:
    actor = request.user
    role = services.role_create(
        actor=actor,
        code=payload.code,
        name=payload.name,
        description=payload.description,
        is_admin=payload.is_admin,
    )
    return Status(201, _role_out(actor, role))


@router.get("/roles/{role_id}", response={200: RoleOut, **ERRORS}, exclude_unset=True)
def role_detail(request: HttpRequest, role_id: int) -> dict:
    return _role_out(request.user, selectors.role_get(actor=request.user, role_id=role_id))


@router.patch("/roles/{role_id}", response={200: RoleOut, **ERRORS}, exclude_unset=True)
def role_update(request: HttpRequest, role_id: int, payload: RolePatchIn) -> dict:
    actor = request.user
    role = selectors.role_get(actor=actor, role_id=role_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    role = services.role_update(actor=actor, role=role, expected_version=version, **changes)
    return _role_out(actor, role)


@router.delete("/roles/{role_id}", response={204: None, **ERRORS})
def role_delete(request: HttpRequest, role_id: int) -> Status:
    """Refused (422) while users still have the role."""
    actor = request.user
    services.role_delete(actor=actor, role=selectors.role_get(actor=actor, role_id=role_id))
    return Status(204, None)


class GrantOut(Schema):
    entity: str
    actions: list[str]
    scope: str
    edit_scope: str


class GrantIn(Schema):
    """An empty `actions` list removes the role's grant on the entity."""

    entity: Text = Field(max_length=50, description="对象，见 GET /entities")
    actions: list[Text] = Field(
        max_length=20, json_schema_extra={"items": {"type": "string", **enum_schema(Action.values)}}
    )
    scope: Text = Field(Scope.OWN.value, max_length=20, json_schema_extra=enum_schema(Scope.values))
    edit_scope: Text = Field(
        Scope.OWN.value, max_length=20, json_schema_extra=enum_schema(Scope.values)
    )


@router.get("/roles/{role_id}/grants", response={200: PageOut[GrantOut], **ERRORS})
def role_grant_list(request: HttpRequest, role_id: int, params: Query[ListParams]) -> dict:
    page = paginate_api(
        selectors.role_grant_list(actor=request.user, role_id=role_id),
        ordering=("entity", "id"),
        cursor=params.cursor,
        limit=params.limit,
    )
    return page_out(
        page,
        lambda g: {
            "entity": g.entity,
            "actions": g.actions,
            "scope": g.scope,
            "edit_scope": g.edit_scope,
        },
    )


@router.put("/roles/{role_id}/grants", response={200: GrantOut, **ERRORS})
def role_grant_set(request: HttpRequest, role_id: int, payload: GrantIn) -> dict:
    """Set what the role may do to one entity, and on which records."""
    actor = request.user
    grant = services.role_grant_set(
        actor=actor,
        role=selectors.role_get(actor=actor, role_id=role_id),
        entity=payload.entity,
        actions=payload.actions,
        scope=payload.scope,
        edit_scope=payload.edit_scope,
    )
    if grant is None:
        none = Scope.NONE.value
        return {"entity": payload.entity, "actions": [], "scope": none, "edit_scope": none}
    return {
        "entity": grant.entity,
        "actions": grant.actions,
        "scope": grant.scope,
        "edit_scope": grant.edit_scope,
    }


class FieldRuleOut(Schema):
    entity: str
    field: str
    access: str


class FieldRuleIn(Schema):
    """`editable` (the default level) removes the rule."""

    entity: Text = Field(max_length=50, description="对象，见 GET /entities")
    field: Text = Field(max_length=100)
    access: Text = Field(max_length=20, json_schema_extra=enum_schema(FieldAccess.values))


@router.get("/roles/{role_id}/field-rules", response={200: PageOut[FieldRuleOut], **ERRORS})
def role_field_rule_list(request: HttpRequest, role_id: int, params: Query[ListParams]) -> dict:
    page = paginate_api(
        selectors.role_field_rule_list(actor=request.user, role_id=role_id),
        ordering=("entity", "field", "id"),
        cursor=params.cursor,
        limit=params.limit,
    )
    return page_out(page, lambda r: {"entity": r.entity, "field": r.field, "access": r.access})


@router.put("/roles/{role_id}/field-rules", response={200: FieldRuleOut, **ERRORS})
def role_field_rule_set(request: HttpRequest, role_id: int, payload: FieldRuleIn) -> dict:
    """Set the role's access to one field: hidden, masked, reveal, readonly or editable."""
    actor = request.user
    services.field_rule_set(
        actor=actor,
        role=selectors.role_get(actor=actor, role_id=role_id),
        entity=payload.entity,
        field=payload.field,
        access=payload.access,
    )
    return {"entity": payload.entity, "field": payload.field, "access": payload.access}


# ---------------------------------------------------------------- the entity registry


class EntityFieldOut(Schema):
    name: str
    label: str
    kind: str
    sensitive: bool
    access: str = Field(description="调用者对此字段的访问级别")


class EntityOut(Schema):
    key: str
    label: str
    actions: list[str]
    scoped: bool = Field(description="是否按负责人计算数据范围（否：组织级数据）")
    soft_delete: bool
    fields: list[EntityFieldOut]


def _entity_out(actor: Any, entity: Entity) -> dict[str, Any]:
    return {
        "key": entity.key,
        "label": str(entity.label),
        "actions": list(entity.actions),
        "scoped": entity.owner_field is not None,
        "soft_delete": entity.soft_delete,
        "fields": [
            {
                "name": f.name,
                "label": str(f.label),
                "kind": f.kind,
                "sensitive": f.sensitive,
                "access": field_level(actor, entity.key, f.name),
            }
            for f in entity.fields
        ],
    }


@router.get("/entities", response={200: PageOut[EntityOut], **ERRORS})
def entity_registry(request: HttpRequest, params: Query[ListParams]) -> dict:
    """What the permission layer guards: entity keys, actions and fields (with their kind)."""
    page = paginate_sequence(
        entity_list(), key=lambda e: e.key, cursor=params.cursor, limit=params.limit
    )
    return page_out(page, lambda e: _entity_out(request.user, e))
