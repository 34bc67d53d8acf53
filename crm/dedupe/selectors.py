"""Reads of the dedupe app: the review queue, one pair, a side-by-side comparison, merges.

A pair is visible when the actor may review duplicates (the `duplicate` grant) and can see
BOTH customers; otherwise it answers NotFound like a missing record. Merging needs more
(edit on both, checked by the service); `merge_compare` says so per pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from crm.access.fieldsec import field_level, present
from crm.access.models import FieldAccess
from crm.access.registry import entity_get
from crm.access.visibility import can, is_admin, visible, visible_get
from crm.core.errors import NotFound
from crm.customers.models import Customer, CustomerStatus
from crm.customfields.services import custom_field_defs
from crm.dedupe.models import DuplicatePair, MergeRecord, PairStatus
from crm.dedupe.relations import attname, customer_relations
from crm.dedupe.services import MERGE_FIELDS


def _both_visible(actor: Any, qs: QuerySet[DuplicatePair]) -> QuerySet[DuplicatePair]:
    """Both customers visible; a merged pair stays visible through its survivor (the
    other one is in the recycle bin)."""
    customers = visible(actor, Customer).values("pk")
    both = Q(a_id__in=customers, b_id__in=customers)
    merged = Q(status=PairStatus.MERGED) & (Q(a_id__in=customers) | Q(b_id__in=customers))
    return qs.filter(both | merged)


def duplicate_pairs(
    *, actor: Any, status: str | None = PairStatus.OPEN, customer_id: int | None = None
) -> QuerySet[DuplicatePair]:
    qs = visible(actor, DuplicatePair)
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(a_id=customer_id) | qs.filter(b_id=customer_id)
    return _both_visible(actor, qs).select_related("a", "b", "a__owner", "b__owner", "decided_by")


def duplicate_pair_get(*, actor: Any, pair_id: Any) -> DuplicatePair:
    return visible_get(actor, duplicate_pairs(actor=actor, status=None), pair_id)


def duplicate_open_count(*, actor: Any, cap: int = 1000) -> int:
    """Open pairs the actor can review (counted up to `cap`: a badge, not a report)."""
    if not can(actor, "view", DuplicatePair):
        return 0
    qs = duplicate_pairs(actor=actor).order_by()
    if is_admin(actor):
        return min(qs.count(), cap)
    return len(qs.values_list("pk", flat=True)[:cap])


def merge_records(*, actor: Any, limit: int = 50) -> list[MergeRecord]:
    """Recent merges whose survivor the actor can see."""
    if not can(actor, "view", DuplicatePair):
        return []
    customers = visible(actor, Customer).values("pk")
    qs = MergeRecord.objects.filter(survivor_id__in=customers).select_related(
        "survivor", "loser", "actor", "undone_by"
    )
    return list(qs.order_by("-id")[:limit])


def merge_get(*, actor: Any, merge_id: Any) -> MergeRecord:
    if not can(actor, "view", DuplicatePair):
        raise NotFound()
    try:
        record = MergeRecord.objects.select_related("survivor", "loser", "actor").get(pk=merge_id)
    except (MergeRecord.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
    if (
        record.survivor_id is None
        or not visible(actor, Customer).filter(pk=record.survivor_id).exists()
    ):
        raise NotFound()
    return record


# ----------------------------------------------------------------- side by side


LINK_LABELS = {
    "customers.CustomerTag": _lazy("标签"),
    "customers.CustomerCollaborator": _lazy("协作人"),
}


@dataclass
class CompareRow:
    field: str
    label: str
    a: str
    b: str
    differs: bool
    choosable: bool  # differs, both shown in clear, and the actor may write the field
    default: str  # "a" or "b"


@dataclass
class CountRow:
    label: str
    a: int
    b: int


@dataclass
class Comparison:
    a: Customer
    b: Customer
    rows: list[CompareRow] = field(default_factory=list)
    counts: list[CountRow] = field(default_factory=list)
    can_merge: bool = False
    survivors: list[str] = field(default_factory=list)  # sides that may be kept: "a", "b"
    why_not: str = ""

    @property
    def differing(self) -> list[CompareRow]:
        return [r for r in self.rows if r.differs]


def _display(actor: Any, customer: Customer, name: str) -> tuple[str, bool]:
    """(text, clear) of one field as the actor may read it."""
    shown = present(actor, customer, [name])
    if name not in shown:
        return _("（无权查看）"), False
    value = shown[name]
    clear = field_level(actor, "customer", name) not in (FieldAccess.MASKED, FieldAccess.REVEAL)
    if name == "status":
        value = dict(CustomerStatus.choices).get(str(value), value)
    elif name == "owner":
        value = getattr(value, "name", None) or (value and str(value)) or _("公海")
    return ("" if value is None else str(value)), clear


def merge_compare(*, actor: Any, a: Customer, b: Customer) -> Comparison:
    """Both customers field by field (`a` is the proposed survivor), their related records
    counted per kind, and whether the actor may merge them."""
    for customer in (a, b):
        if not can(actor, "view", customer):
            raise NotFound()
    out = Comparison(a=a, b=b)
    entity = entity_get("customer")
    labels = {spec.name: str(spec.label) for spec in entity.fields}
    for name in MERGE_FIELDS:
        a_text, a_clear = _display(actor, a, name)
        b_text, b_clear = _display(actor, b, name)
        column = attname(Customer, name)
        a_raw, b_raw = getattr(a, column), getattr(b, column)
        differs = a_raw != b_raw
        writable = field_level(actor, "customer", name) == FieldAccess.EDITABLE
        out.rows.append(
            CompareRow(
                field=name,
                label=labels.get(name, name),
                a=a_text,
                b=b_text,
                differs=differs,
                choosable=differs and a_clear and b_clear and writable,
                default="a" if a_raw not in (None, "") else "b",
            )
        )
    defs = {d.key: d for d in custom_field_defs("customer")}
    for key in sorted(set(a.custom or {}) | set(b.custom or {})):
        a_val, b_val = (a.custom or {}).get(key), (b.custom or {}).get(key)
        label = str(defs[key].label) if key in defs else key
        out.rows.append(
            CompareRow(
                field=f"custom.{key}",
                label=label,
                a="" if a_val is None else str(a_val),
                b="" if b_val is None else str(b_val),
                differs=a_val != b_val,
                choosable=a_val != b_val,
                default="a" if a_val not in (None, "", []) else "b",
            )
        )
    for rel in customer_relations():
        model = rel.model
        manager = getattr(model, "objects", model._default_manager)
        counts = dict(
            manager.filter(**{f"{rel.attname}__in": [a.pk, b.pk]})
            .order_by()
            .values_list(rel.attname)
            .annotate(n=Count("pk"))
            .values_list(rel.attname, "n")
        )
        if not counts:
            continue
        label = LINK_LABELS.get(model._meta.label)
        if label is None and "verbose_name" in getattr(model._meta, "original_attrs", {}):
            label = str(model._meta.verbose_name)
        if label is None:
            continue  # bookkeeping rows without a name people know
        out.counts.append(CountRow(str(label), counts.get(a.pk, 0), counts.get(b.pk, 0)))
    may = can(actor, "edit", DuplicatePair) and can(actor, "edit", a) and can(actor, "edit", b)
    out.survivors = [
        side for side, other in (("a", b), ("b", a)) if may and can(actor, "delete", other)
    ]
    out.can_merge = bool(out.survivors)
    if not out.can_merge:
        out.why_not = _("合并需要能同时编辑这两个客户，并能删除被合并的客户")
    return out


def merge_changes(*, actor: Any, record: MergeRecord) -> list[tuple[str, str, str]]:
    """(label, before, after) of the survivor's chosen fields the merge changed."""
    from crm.access.selectors import user_names

    entity = entity_get("customer")
    labels = {spec.name: str(spec.label) for spec in entity.fields}
    out: list[tuple[str, str, str]] = []
    owner_ids = [
        v
        for v in (record.survivor_before.get("owner_id"), record.survivor_after.get("owner_id"))
        if v
    ]
    names = user_names(actor=actor, ids=owner_ids) if owner_ids else {}
    statuses = dict(CustomerStatus.choices)
    for name in MERGE_FIELDS:
        if field_level(actor, "customer", name) in (
            FieldAccess.HIDDEN,
            FieldAccess.MASKED,
            FieldAccess.REVEAL,
        ):
            continue
        column = attname(Customer, name)
        before, after = record.survivor_before.get(column), record.survivor_after.get(column)
        if before == after:
            continue

        def show(value: Any, name: str = name) -> str:
            if name == "owner":
                return str(names.get(value, "")) if value else _("公海")
            if name == "status":
                return str(statuses.get(value, value))
            return "" if value is None else str(value)

        out.append((labels.get(name, name), show(before), show(after)))
    return out
