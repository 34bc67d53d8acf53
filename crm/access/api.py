"""Authentication, the current user, and the organisation (users, departments, roles)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from crm.access.services import login_token_issue
from crm.core.apiutils import ERRORS
from crm.core.errors import ValidationFailed

router = Router(tags=["organisation"])


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


@router.post("/auth/token", auth=None, response={200: TokenOut, **ERRORS}, tags=["auth"])
def auth_token(request: HttpRequest, payload: TokenIn) -> dict:
    """Exchange a username and password for a bearer token (lockout rules apply)."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None or not user.is_active:
        raise ValidationFailed(_("用户名或密码不正确"), field="password")
    return {"token": login_token_issue(user=user)}  # type: ignore[arg-type]


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
        "username": user.username,  # type: ignore[union-attr]
        "display_name": user.display_name,  # type: ignore[union-attr]
        "email": user.email,  # type: ignore[union-attr]
        "department_id": user.department_id,  # type: ignore[union-attr]
        "department": str(user.department) if user.department_id else None,  # type: ignore[union-attr]
        "manager_id": user.manager_id,  # type: ignore[union-attr]
        "roles": list(user.roles.all()),  # type: ignore[union-attr]
        "is_admin": is_admin(user),
    }
