"""The export registry: every list that can be exported registers one ExportSpec.

A list app adds, in its own `exports.py` (imported from its AppConfig.ready()):

    from crm.exports.registry import ExportSpec, export_register, field_column

    export_register(
        ExportSpec(
            entity="lead",                      # the crm.access.registry key
            label=_("线索"),
            columns=lambda actor: [
                id_column(),
                field_column("lead", "name"),   # header = the FieldSpec label; field rules apply
                field_column("lead", "mobile", display=phone_display),
                Column("owner", _("负责人"), value=lambda o: o.owner.name if o.owner else "",
                       secured=("lead", "owner")),
            ],
            rows=lambda actor, params: lead_export_rows(actor=actor, params=params),
            list_url="lead_list",
        )
    )

`rows(actor, params)` returns the list's QuerySet — visible to the actor, filtered by the
list page's own filter parsing over `params` (the query string), ordered as the page —
and crm.exports does everything else: the "export" permission, field security (a hidden
field's column is left out, a masked field is masked), formula escaping, xlsx / csv,
streaming or the worker for big lists, the audit entry, the download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    """One column of an export.

    key: unique within the spec (for a model field, its name).
    label: the header: the field's Chinese label (its verbose name), what the importer reads.
    value: the raw value of a row object (default: the attribute named `key`).
    secured: (entity key, field name) whose field rule decides this column: hidden → the
        column is left out, masked / reveal → each value is masked. None: no rule applies
        (ids, computed dates).
    kind: how a masked value looks (phone, email, money…); default: the FieldSpec's kind.
    display: turns a clear value into the cell (a phone's national format, a choice's label).
        Never applied to a masked value.
    """

    key: str
    label: Any
    value: Callable[[Any], Any] | None = None
    secured: tuple[str, str] | None = None
    kind: str = ""
    display: Callable[[Any], Any] | None = None

    def raw(self, obj: Any) -> Any:
        if self.value is not None:
            return self.value(obj)
        return getattr(obj, self.key, None)


ColumnsArg = Sequence[Column] | Callable[[Any], Sequence[Column]]


@dataclass(frozen=True)
class ExportSpec:
    """An exportable list.

    entity: the crm.access.registry key; the actor needs the "export" action on it.
    rows: (actor, params) -> the list's QuerySet: visible, filtered, ordered. `params` is the
        request's query string (a QueryDict: .get / .getlist) without `format`.
    columns: the columns, or (actor) -> columns (e.g. to add the custom fields).
    prepare: (actor, objects) -> None, called once per batch of rows before their values are
        read: attach what would otherwise be one query per row (tags, primary contacts).
    list_url: URL name of the list page (the "back" link of the export pages).
    """

    entity: str
    label: Any
    columns: ColumnsArg
    rows: Callable[[Any, Any], QuerySet]
    prepare: Callable[[Any, list[Any]], None] | None = None
    list_url: str = ""

    def columns_for(self, actor: Any) -> list[Column]:
        cols = self.columns(actor) if callable(self.columns) else self.columns
        return list(cols)


_SPECS: dict[str, ExportSpec] = {}


def export_register(spec: ExportSpec) -> ExportSpec:
    _SPECS[spec.entity] = spec
    return spec


def export_get(entity: str) -> ExportSpec | None:
    return _SPECS.get(entity)


def export_list() -> list[ExportSpec]:
    return list(_SPECS.values())


# ----------------------------------------------------------------- column builders


def id_column() -> Column:
    """The record's id, first column of every export: the importer updates by it."""
    return Column("id", "ID", value=lambda obj: obj.pk)


def field_column(
    entity: str,
    name: str,
    *,
    label: Any = None,
    value: Callable[[Any], Any] | None = None,
    display: Callable[[Any], Any] | None = None,
    key: str = "",
) -> Column:
    """A column for a FieldSpec of `entity`: its label is the header and its rule applies.

    `value` reads it from a related object (a contact's customer name:
    field_column("customer", "name", value=lambda c: c.customer.name, key="customer")).
    """
    from crm.access.registry import entity_get

    spec = entity_get(entity).field(name)
    if spec is None:
        raise LookupError(f"{entity}.{name} is not a FieldSpec: declare it on the Entity")
    return Column(
        key=key or name,
        label=label if label is not None else spec.label,
        value=value,
        secured=(entity, name),
        kind=spec.kind,
        display=display,
    )


def choice_display(choices: Iterable[tuple[Any, Any]]) -> Callable[[Any], Any]:
    """A stored choice → its label (跟进中, not "following"); unknown values pass through."""
    labels = {k: v for k, v in choices}
    return lambda value: str(labels.get(value, value)) if value not in (None, "") else ""


def yes_no(value: Any) -> str:
    return str(_("是")) if value else str(_("否"))
