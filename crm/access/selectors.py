"""Every read of organisation data, through the permission layer."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from crm.access.models import ApiToken, Department, FieldRule, Role, RoleGrant, User
from crm.access.visibility import visible, visible_get


def department_list(*, actor: Any) -> QuerySet[Department]:
    return (
        visible(actor, Department)
        .select_related("manager", "parent")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )


def department_tree(*, actor: Any) -> list[Department]:
    """Departments in tree order (parents before children), each with `.depth`."""
    rows = list(department_list(actor=actor))
    by_parent: dict[int | None, list[Department]] = {}
    for dept in rows:
        by_parent.setdefault(dept.parent_id, []).append(dept)
    ordered: list[Department] = []

    def walk(parent_id: int | None) -> None:
        for dept in sorted(by_parent.get(parent_id, []), key=lambda d: (d.sort, d.pk)):
            ordered.append(dept)
            walk(dept.pk)

    walk(None)
    return ordered


def department_get(*, actor: Any, department_id: Any) -> Department:
    return visible_get(actor, Department, department_id)


def user_list(
    *,
    actor: Any,
    q: str = "",
    department_id: int | None = None,
    include_subdepartments: bool = True,
    active: bool | None = None,
) -> QuerySet[User]:
    qs = visible(actor, User).select_related("department", "manager").prefetch_related("roles")
    if q:
        qs = qs.filter(
            Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q)
        )
    if department_id:
        dept = Department.objects.filter(pk=department_id).first()
        if dept is None:
            return qs.none()
        if include_subdepartments:
            qs = qs.filter(department__path__startswith=dept.path)
        else:
            qs = qs.filter(department=dept)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def user_get(*, actor: Any, user_id: Any) -> User:
    return visible_get(actor, User, user_id)


def role_list(*, actor: Any) -> QuerySet[Role]:
    return visible(actor, Role).annotate(user_count=Count("users")).order_by("id")


def role_get(*, actor: Any, role_id: Any) -> Role:
    return visible_get(actor, Role, role_id)


def role_grants(*, role: Role) -> dict[str, RoleGrant]:
    return {g.entity: g for g in RoleGrant.objects.filter(role=role)}


def role_field_rules(*, role: Role) -> dict[tuple[str, str], str]:
    return {(r.entity, r.field): r.access for r in FieldRule.objects.filter(role=role)}


def token_list(*, actor: Any) -> QuerySet[ApiToken]:
    """A user's own tokens only: tokens are never visible to anyone else."""
    return ApiToken.objects.filter(user=actor).order_by("-id")


def user_by_username_unscoped(username: str) -> User | None:
    """Unscoped on purpose: used by the CLI (`--user USERNAME`) before there is an actor."""
    return User.objects.filter(username=username).first()
