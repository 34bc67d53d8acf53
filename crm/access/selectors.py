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


# ---------------------------------------------------------------- pages (organisation UI)


def org_counts(*, actor: Any) -> tuple[int, int]:
    """(departments, active members) the actor can see: the home page card."""
    departments = visible(actor, Department).count()
    members = visible(actor, User).filter(is_active=True).count()
    return departments, members


def user_choices(*, actor: Any, include_ids: list[int] | None = None) -> list[User]:
    """Active users for a "manager" or "head" picker (plus the ones already chosen)."""
    cond = Q(is_active=True)
    if include_ids:
        cond |= Q(pk__in=[i for i in include_ids if i])
    return list(
        visible(actor, User)
        .filter(cond)
        .select_related("department")
        .only("id", "username", "display_name", "department__name")
        .order_by("username")
    )


def user_names(*, actor: Any, ids: list[Any]) -> dict[int, str]:
    """Display names of visible users by id, in one query (ids that are not visible are absent)."""
    clean = {int(i) for i in ids if isinstance(i, int) or (isinstance(i, str) and i.isdigit())}
    if not clean:
        return {}
    rows = visible(actor, User).filter(pk__in=clean).values_list("pk", "display_name", "username")
    return {pk: display or username for pk, display, username in rows}


def department_names(*, actor: Any, ids: list[Any]) -> dict[int, str]:
    """Names of visible departments by id, in one query."""
    clean = {int(i) for i in ids if isinstance(i, int) or (isinstance(i, str) and i.isdigit())}
    if not clean:
        return {}
    return dict(visible(actor, Department).filter(pk__in=clean).values_list("pk", "name"))


# ---------------------------------------------------------------- API (role detail lists)


def role_grant_list(*, actor: Any, role_id: Any) -> QuerySet[RoleGrant]:
    """One visible role's grants (NotFound when the role is missing or not visible)."""
    role = role_get(actor=actor, role_id=role_id)
    return RoleGrant.objects.filter(role=role)


def role_field_rule_list(*, actor: Any, role_id: Any) -> QuerySet[FieldRule]:
    """One visible role's field rules (NotFound when the role is missing or not visible)."""
    role = role_get(actor=actor, role_id=role_id)
    return FieldRule.objects.filter(role=role)
