"""The entity registry: every model the permission layer guards is registered here once.

An app registers its models in its `entities.py` (imported from AppConfig.ready); the
permission layer, the role editor, the field-rule editor, the recycle bin and the audit
trail all read the same registry, so a new domain app only adds a `register(...)` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Any  # str or a lazy translation
    # kind decides how a masked value looks: phone → 138****1234, email → z***@x.cn
    kind: str = "text"
    sensitive: bool = False


@dataclass(frozen=True)
class Entity:
    key: str
    model: type[models.Model]
    label: Any  # str or a lazy translation
    # The user field that decides data scope; None: organisation-wide data (scope ignored).
    owner_field: str | None = "owner"
    fields: tuple[FieldSpec, ...] = ()
    # Optional extra rows a user sees beyond their scope (collaborators, shares, pool...).
    # Use subqueries (pk__in=...), not joins, so the visible queryset never needs DISTINCT.
    extra_visible: Callable[[Any], Q] | None = None
    # Listed in the recycle bin (the model is a SoftDeleteModel).
    soft_delete: bool = False
    actions: tuple[str, ...] = ("view", "create", "edit", "delete", "export", "import")
    extra: dict[str, Any] = field(default_factory=dict)

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


_ENTITIES: dict[str, Entity] = {}
_BY_MODEL: dict[type[models.Model], Entity] = {}


def register(entity: Entity) -> Entity:
    _ENTITIES[entity.key] = entity
    _BY_MODEL[entity.model] = entity
    return entity


def entity_get(key: str) -> Entity:
    return _ENTITIES[key]


def entity_exists(key: str) -> bool:
    return key in _ENTITIES


def entity_for_model(model: type[models.Model]) -> Entity:
    for klass in model.__mro__:
        if klass in _BY_MODEL:
            return _BY_MODEL[klass]
    raise LookupError(f"{model.__name__} is not registered with crm.access.registry")


def entity_list() -> list[Entity]:
    return list(_ENTITIES.values())
