"""Optimistic concurrency: one function every service uses to save a versioned record."""

from __future__ import annotations

from typing import Any

from django.db import models

from crm.core.errors import StaleVersion


def save_with_version(
    obj: models.Model, *, expected_version: int | None, fields: list[str]
) -> models.Model:
    """Write `fields` of `obj` only if the stored version is still `expected_version`.

    The check and the write are one UPDATE ... WHERE version = expected, so two editors
    racing cannot both win. `expected_version=None` means the caller did not load the
    record into a form (a system job): the check then uses the version of the object in
    hand, so a job holding an old copy cannot overwrite a newer edit either.
    """
    model = type(obj)
    current_version: int = obj.version  # type: ignore[attr-defined]
    base = expected_version if expected_version is not None else current_version
    values: dict[str, Any] = {
        f: getattr(obj, getattr(model._meta.get_field(f), "attname", f)) for f in fields
    }
    # auto_now fields are not set by .update(): set them ourselves.
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            value = field.pre_save(obj, add=False)
            values[field.attname] = value
    values["version"] = base + 1
    manager = getattr(model, "all_objects", model._default_manager)
    updated = manager.filter(pk=obj.pk, version=base).update(**values)
    if updated != 1:
        fresh: Any = manager.filter(pk=obj.pk).first()
        current: dict[str, Any] = {}
        if fresh is not None:
            current = {f: str(getattr(fresh, f)) for f in fields}
            current["version"] = fresh.version
        raise StaleVersion(current=current)
    obj.version = base + 1  # type: ignore[attr-defined]
    return obj
