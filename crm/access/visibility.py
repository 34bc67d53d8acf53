"""THE permission layer for rows and actions.

Two entry points, used by every selector, service, view and endpoint:

* ``visible(actor, Model)`` — the queryset of rows the actor may see;
* ``can(actor, action, obj_or_model)`` — may the actor do this?

A record outside the actor's scope is reported as missing (``visible_get`` raises NotFound),
never as forbidden, so its existence is not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from crm.access.models import SCOPE_RANK, Action, Scope
from crm.access.registry import Entity, entity_for_model, entity_get
from crm.core.errors import NotFound, PermissionDenied

M = TypeVar("M", bound=models.Model)

ALL_ACTIONS = frozenset(Action.values)


@dataclass(frozen=True)
class EffectiveGrant:
    actions: frozenset[str]
    scope: str
    edit_scope: str


NO_GRANT = EffectiveGrant(frozenset(), Scope.NONE, Scope.NONE)
FULL_GRANT = EffectiveGrant(ALL_ACTIONS, Scope.ALL, Scope.ALL)


def _cache(actor: Any) -> dict:
    cache = getattr(actor, "_crm_access_cache", None)
    if cache is None:
        cache = {}
        actor._crm_access_cache = cache
    return cache


def clear_cache(actor: Any) -> None:
    if hasattr(actor, "_crm_access_cache"):
        del actor._crm_access_cache


def is_active_user(actor: Any) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active)


def is_admin(actor: Any) -> bool:
    if not is_active_user(actor):
        return False
    cache = _cache(actor)
    if "is_admin" not in cache:
        cache["is_admin"] = bool(actor.is_superuser) or actor.roles.filter(is_admin=True).exists()
    return cache["is_admin"]


def _all_grants(actor: Any) -> dict[str, list[tuple[list[str], str, str]]]:
    cache = _cache(actor)
    if "grants" not in cache:
        from crm.access.models import RoleGrant

        grants: dict[str, list[tuple[list[str], str, str]]] = {}
        rows = RoleGrant.objects.filter(role__users=actor).values_list(
            "entity", "actions", "scope", "edit_scope"
        )
        for entity, actions, scope, edit_scope in rows:
            grants.setdefault(entity, []).append((list(actions or []), scope, edit_scope))
        cache["grants"] = grants
    return cache["grants"]


def grant_for(actor: Any, entity_key: str) -> EffectiveGrant:
    """The union of the actor's roles' grants on one entity (widest scope wins)."""
    if not is_active_user(actor):
        return NO_GRANT
    if is_admin(actor):
        return FULL_GRANT
    rows = _all_grants(actor).get(entity_key, [])
    if not rows:
        return NO_GRANT
    actions: set[str] = set()
    scope = Scope.NONE.value
    edit_scope = Scope.NONE.value
    for row_actions, row_scope, row_edit_scope in rows:
        actions.update(a for a in row_actions if a in ALL_ACTIONS)
        if SCOPE_RANK.get(row_scope, 0) > SCOPE_RANK[scope]:
            scope = row_scope
        if SCOPE_RANK.get(row_edit_scope, 0) > SCOPE_RANK[edit_scope]:
            edit_scope = row_edit_scope
    # One cannot edit what one cannot see.
    if SCOPE_RANK[edit_scope] > SCOPE_RANK[scope]:
        edit_scope = scope
    return EffectiveGrant(frozenset(actions), scope, edit_scope)


def report_ids(actor: Any) -> list[int]:
    """Ids of everyone below the actor in the manager chain (direct and indirect reports)."""
    cache = _cache(actor)
    if "reports" not in cache:
        from crm.access.models import User

        found: list[int] = []
        seen = {actor.pk}
        frontier = [actor.pk]
        while frontier:
            nxt = [
                pk
                for pk in User.objects.filter(manager_id__in=frontier).values_list("pk", flat=True)
                if pk not in seen
            ]
            seen.update(nxt)
            found.extend(nxt)
            frontier = nxt
        cache["reports"] = found
    return cache["reports"]


def _department_path(actor: Any) -> str | None:
    cache = _cache(actor)
    if "dept_path" not in cache:
        dept = actor.department if actor.department_id else None
        cache["dept_path"] = dept.path if dept is not None else None
    return cache["dept_path"]


def scope_q(actor: Any, entity: Entity, scope: str, *, include_reports: bool) -> Q | None:
    """The row filter for `scope`; None means every row. Same predicate for lists and checks."""
    if scope == Scope.ALL or entity.owner_field is None:
        return None
    owner = entity.owner_field
    nothing = Q(pk__in=[])
    if scope == Scope.NONE:
        return nothing
    q = Q(**{f"{owner}_id": actor.pk})
    if scope == Scope.DEPARTMENT and actor.department_id:
        q |= Q(**{f"{owner}__department_id": actor.department_id})
    elif scope == Scope.SUBTREE and actor.department_id:
        q |= Q(**{f"{owner}__department__path__startswith": _department_path(actor)})
    if include_reports:
        reports = report_ids(actor)
        if reports:
            q |= Q(**{f"{owner}_id__in": reports})
    if entity.extra_visible is not None:
        q |= entity.extra_visible(actor)
    return q


def _queryset(model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    if isinstance(model_or_qs, QuerySet):
        return model_or_qs
    return model_or_qs._default_manager.all()


def visible(actor: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """Every row of the model the actor may see (the start of every selector)."""
    qs = _queryset(model_or_qs)
    entity = entity_for_model(qs.model)
    grant = grant_for(actor, entity.key)
    if Action.VIEW not in grant.actions:
        return qs.none()
    q = scope_q(actor, entity, grant.scope, include_reports=True)
    return qs if q is None else qs.filter(q).distinct() if entity.extra_visible else qs.filter(q)


def editable(actor: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """Rows the actor may edit: within the edit scope (a manager's team is read-only by default)."""
    qs = _queryset(model_or_qs)
    entity = entity_for_model(qs.model)
    grant = grant_for(actor, entity.key)
    if Action.EDIT not in grant.actions:
        return qs.none()
    include_reports = grant.edit_scope not in (Scope.NONE, Scope.OWN)
    q = scope_q(actor, entity, grant.edit_scope, include_reports=include_reports)
    return qs if q is None else qs.filter(q)


def can(actor: Any, action: str, target: Any) -> bool:
    """May `actor` do `action` to `target` (a model instance, or a model class for create etc.)."""
    if isinstance(target, type):
        entity = entity_for_model(target)
        return action in grant_for(actor, entity.key).actions
    if isinstance(target, str):
        return action in grant_for(actor, entity_get(target).key).actions
    entity = entity_for_model(type(target))
    grant = grant_for(actor, entity.key)
    if action not in grant.actions:
        return False
    manager = type(target)._default_manager
    if action in (Action.EDIT, Action.DELETE):
        # edit/delete need the edit scope (Action.DELETE reuses it: deleting is a strong edit).
        include_reports = grant.edit_scope not in (Scope.NONE, Scope.OWN)
        q = scope_q(actor, entity, grant.edit_scope, include_reports=include_reports)
    else:
        q = scope_q(actor, entity, grant.scope, include_reports=True)
    if q is None:
        return True
    return manager.filter(q, pk=target.pk).exists()


def visible_get(actor: Any, model_or_qs: type[M] | QuerySet[M], pk: Any) -> M:
    """One visible record or NotFound — the same answer for missing and out of scope."""
    try:
        return visible(actor, model_or_qs).get(pk=pk)
    except (ValueError, TypeError, models.ObjectDoesNotExist) as exc:
        raise NotFound() from exc


def require(actor: Any, action: str, target: Any) -> None:
    """Raise if the actor may not; NotFound when the record is not even visible."""
    if can(actor, action, target):
        return
    if not isinstance(target, (type, str)) and not can(actor, Action.VIEW, target):
        raise NotFound()
    raise PermissionDenied()
