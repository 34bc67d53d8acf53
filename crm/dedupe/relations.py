"""Which records belong to a customer: every foreign key to Customer Django knows about.

Found through the model meta (hidden relations included), so apps added later are covered
without being named here. This app's own bookkeeping (keys, pairs, merge records) is left out.
"""

from __future__ import annotations

from django.db import models

from crm.customers.models import Customer

SKIP_APPS = {"dedupe"}


def customer_relations() -> list[models.ForeignKey]:
    """Every ForeignKey / OneToOneField pointing at Customer, in a stable order."""
    out: list[models.ForeignKey] = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete) or rel.many_to_many:
            continue
        field = getattr(rel, "field", None)
        if not isinstance(field, models.ForeignKey):
            continue
        model = field.model
        if model._meta.app_label in SKIP_APPS or model._meta.proxy or not model._meta.managed:
            continue
        out.append(field)
    out.sort(key=lambda f: (f.model._meta.label, f.name))
    return out


def attname(model: type[models.Model], name: str) -> str:
    """The column attribute of a concrete field ("owner" → "owner_id")."""
    field = model._meta.get_field(name)
    return str(getattr(field, "attname", name))
