"""THE permission layer for rows and actions.

Two entry points, used by every selector, service, view and endpoint:

* ``visible(actor, Model)`` — the queryset of rows the actor may see;
* ``can(actor, action, obj_or_model)`` — may the actor do this?

A record outside the actor's scope is reported as missing (``visible_get`` raises NotFound),
never as forbidden, so its existence is not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from crm.access.models import SCOPE_RANK, Action, Scope
from crm.access.registry import Entity, entity_for_model, entity_get
from crm.core.errors import NotFound, PermissionDenied

M = TypeVar("M", bound=models.Model)

ALL_ACTIONS = frozenset(Action.values)


# Actions checked against the edit scope (deleting is a strong edit).
WRITE_ACTIONS = frozenset({Action.EDIT.value, Action.DELETE.value})


@dataclass(frozen=True)
class EffectiveGrant:
    actions: frozenset[str]
    scope: str
    edit_scope: str
    # Per action, the widest scope among the roles granting that action. Empty for the
    # uniform grants below, where `scope`/`edit_scope` apply to every action.
    action_scopes: tuple[tuple[str, str], ...] = ()

    def scope_for(self, action: str) -> str:
        """The rows `action` reaches: view-like actions use the visible scope, edit/delete
        the edit scope, each taken only from the roles that grant that very action."""
        if action not in self.actions:
            return Scope.NONE.value
        for name, scope in self.action_scopes:
            if name == action:
                return scope
        return self.edit_scope if action in WRITE_ACTIONS else self.scope


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


def _wider(a: str, b: str) -> str:
    return a if SCOPE_RANK.get(a, 0) >= SCOPE_RANK.get(b, 0) else b


def grant_for(actor: Any, entity_key: str) -> EffectiveGrant:
    """The union of the actor's roles' grants on one entity (widest scope wins).

    The union is taken per action: a role's scope only widens the actions that role grants.
    (Taking the widest scope of any role and the actions of every role would let a role
    that may only *create* with scope "all" widen another role's *view* of "own".)
    """
    if not is_active_user(actor):
        return NO_GRANT
    if is_admin(actor):
        return FULL_GRANT
    rows = _all_grants(actor).get(entity_key, [])
    if not rows:
        return NO_GRANT
    none = Scope.NONE.value
    per_action: dict[str, str] = {}
    for row_actions, row_scope, row_edit_scope in rows:
        scope = row_scope if row_scope in SCOPE_RANK else none
        edit_scope = row_edit_scope if row_edit_scope in SCOPE_RANK else none
        # Within one role, too: one cannot edit what one cannot see.
        if SCOPE_RANK[edit_scope] > SCOPE_RANK[scope]:
            edit_scope = scope
        for action in row_actions:
            if action not in ALL_ACTIONS:
                continue
            reach = edit_scope if action in WRITE_ACTIONS else scope
            per_action[action] = _wider(reach, per_action.get(action, none))
    view_scope = per_action.get(Action.VIEW.value, none)
    for action, reach in per_action.items():
        # No action reaches a row the actor cannot see.
        if SCOPE_RANK[reach] > SCOPE_RANK[view_scope]:
            per_action[action] = view_scope
    return EffectiveGrant(
        actions=frozenset(per_action),
        scope=view_scope,
        edit_scope=per_action.get(Action.EDIT.value, none),
        action_scopes=tuple(sorted(per_action.items())),
    )


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


def scope_q(
    actor: Any, entity: Entity, scope: str, *, include_reports: bool, include_extra: bool = True
) -> Q | None:
    """The row filter for `scope`; None means every row. Same predicate for lists and checks.

    include_reports: add the records of everyone below the actor in the manager chain.
    include_extra: add the entity's extra visible rows (shares, pools…): they are seen,
    not edited, so the edit checks leave them out.
    """
    if scope == Scope.ALL or entity.owner_field is None:
        return None
    owner = entity.owner_field
    nothing = Q(pk__in=[])
    if scope not in SCOPE_RANK or scope == Scope.NONE:
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
    if include_extra and entity.extra_visible is not None:
        q |= entity.extra_visible(actor)
    return q


def _queryset(model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    if isinstance(model_or_qs, QuerySet):
        return model_or_qs
    return model_or_qs._default_manager.all()


def _action_q(actor: Any, entity: Entity, grant: EffectiveGrant, action: str) -> Q | None:
    """The row filter for one action: edit and delete stop at the edit scope, which
    leaves a manager's team read-only unless the role's edit scope reaches it."""
    reach = grant.scope_for(action)
    if action in WRITE_ACTIONS:
        include_reports = reach not in (Scope.NONE, Scope.OWN)
        return scope_q(actor, entity, reach, include_reports=include_reports, include_extra=False)
    return scope_q(actor, entity, reach, include_reports=True)


def _view_q(actor: Any, entity: Entity) -> Q | Literal[False] | None:
    """visible()'s row filter: False = no row, None = every row, else the predicate."""
    grant = grant_for(actor, entity.key)
    if Action.VIEW not in grant.actions:
        return False
    return _action_q(actor, entity, grant, Action.VIEW)


def visible(actor: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """Every row of the model the actor may see (the start of every selector)."""
    qs = _queryset(model_or_qs)
    entity = entity_for_model(qs.model)
    q = _view_q(actor, entity)
    if q is False:
        return qs.none()
    if q is None:
        return qs
    # extra_visible may join to many rows (shares): keep one row per record.
    return qs.filter(q).distinct() if entity.extra_visible else qs.filter(q)


def visible_branches(actor: Any, model: type[models.Model]) -> list[Q] | None:
    """visible()'s predicate split at its top-level ORs: None when every row is visible,
    [] when none is. `visible(actor, M)` has exactly the rows of
    `M._default_manager.filter(b1 | b2 | …)`.

    For selectors that need another query shape over the same rows: an OR of "owner is me",
    "I collaborate on it" and "it is in the pool" cannot be served by one index, and with
    ORDER BY id LIMIT 51 SQLite walks the whole table in id order to find a rep's few
    customers. A UNION of the branches, each served by its own index, finds them at once.
    """
    q = _view_q(actor, entity_for_model(model))
    if q is False:
        return []
    if q is None:
        return None
    return list(_or_branches(q))


def _or_branches(q: Any) -> list[Q]:
    if isinstance(q, Q) and q.connector == Q.OR and not q.negated:
        out: list[Q] = []
        for child in q.children:
            out.extend(_or_branches(child))
        return out
    return [q if isinstance(q, Q) else Q(q)]


def editable(actor: Any, model_or_qs: type[M] | QuerySet[M]) -> QuerySet[M]:
    """Rows the actor may edit: within the edit scope (a manager's team is read-only by default)."""
    qs = _queryset(model_or_qs)
    entity = entity_for_model(qs.model)
    grant = grant_for(actor, entity.key)
    if Action.EDIT not in grant.actions:
        return qs.none()
    q = _action_q(actor, entity, grant, Action.EDIT)
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
    if getattr(target, "deleted_at", None) is not None:
        # In the recycle bin: invisible to every default manager, so nothing may be done to
        # it here; crm.core.recyclebin has its own rules for restore and purge.
        return False
    q = _action_q(actor, entity, grant, action)
    if q is None:
        return True
    return type(target)._default_manager.filter(q, pk=target.pk).exists()


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
