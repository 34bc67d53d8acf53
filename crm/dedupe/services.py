"""Writes of the dedupe app: the candidate-pair queue, merging two customers, undoing a merge.

Merging is generic on purpose: every foreign key to Customer that Django knows about
(`Customer._meta.get_fields(include_hidden=True)`) is re-pointed from the loser to the
survivor, so records of apps added later (leads, opportunities, quotes, contracts…) follow
without this module knowing them. A row that would break a unique constraint on the
survivor is dropped when it is a link row (a tag, a collaborator: the survivor already has
the same one) and recreated on undo; a domain record in that position (soft-deletable) is
left on the loser, which goes to the recycle bin, and listed in the merge record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import require_writable
from crm.access.visibility import can, require
from crm.audit.services import _jsonable, audit_record
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.recyclebin import record_delete, record_restore
from crm.core.versioning import save_with_version
from crm.customers.models import Contact, Customer
from crm.customers.normalize import company_name_key
from crm.customers.services import CUSTOMER_FIELDS, completeness_compute
from crm.dedupe.matching import Candidate
from crm.dedupe.models import DuplicatePair, MergeRecord, PairSource, PairStatus
from crm.dedupe.relations import attname, customer_relations
from crm.search.services import search_index, search_remove
from crm.timeline.services import timeline_append

# The customer fields a merge chooses between ("a" = survivor's value, "b" = loser's).
MERGE_FIELDS = [*CUSTOMER_FIELDS, "owner"]
# Fields the merge derives (not chosen) but restores on undo.
DERIVED_FIELDS = [
    "name_key",
    "owned_since",
    "pool_entered_at",
    "pool_reason",
    "next_follow_up_at",
    "last_follow_up_at",
    "last_won_at",
    "completeness",
    "custom",
]

MergeHook = Callable[[Customer, Customer, MergeRecord, bool], None]
_HOOKS: list[MergeHook] = []


def merge_hook_register(hook: MergeHook) -> None:
    """Called inside the transaction after a merge (undo=False) and after an undo (True):
    for apps that keep numbers derived from a customer's records (totals, dates)."""
    _HOOKS.append(hook)


def _pair_ids(x: int, y: int) -> tuple[int, int]:
    return (x, y) if x < y else (y, x)


# ----------------------------------------------------------------- the pair queue


@dataclass
class PairInput:
    a_id: int
    b_id: int
    score: float
    reasons: list[str]
    exact: bool
    auto_merge_ok: bool


def duplicate_pairs_record(
    *, pairs: Iterable[PairInput], source: str = PairSource.SCAN, source_ref: str = ""
) -> tuple[int, int]:
    """Add or refresh candidate pairs (a system write: the scan, the importer).

    A dismissed or merged pair is never reopened; an open one gets the new score and
    reasons. Returns (created, updated).
    """
    wanted: dict[tuple[int, int], PairInput] = {}
    for p in pairs:
        if p.a_id == p.b_id:
            continue
        key = _pair_ids(p.a_id, p.b_id)
        if key not in wanted or wanted[key].score < p.score:
            wanted[key] = p
    created = updated = 0
    keys = list(wanted)
    now = timezone.now()
    for i in range(0, len(keys), 400):
        part = keys[i : i + 400]
        q = Q()
        for a, b in part:
            q |= Q(a_id=a, b_id=b)
        existing = {(p.a_id, p.b_id): p for p in DuplicatePair.objects.filter(q)}
        new: list[DuplicatePair] = []
        changed: list[DuplicatePair] = []
        for key in part:
            p = wanted[key]
            reasons = [str(r) for r in p.reasons]
            old = existing.get(key)
            if old is None:
                new.append(
                    DuplicatePair(
                        a_id=key[0],
                        b_id=key[1],
                        score=p.score,
                        reasons=reasons,
                        exact=p.exact,
                        auto_merge_ok=p.auto_merge_ok,
                        source=source,
                        source_ref=source_ref[:64],
                        found_at=now,
                    )
                )
            elif old.status in (PairStatus.OPEN, PairStatus.OBSOLETE) and (
                old.score != p.score or old.reasons != reasons or old.status != PairStatus.OPEN
            ):
                old.score, old.reasons, old.exact = p.score, reasons, p.exact
                old.auto_merge_ok, old.status = p.auto_merge_ok, PairStatus.OPEN
                changed.append(old)
        DuplicatePair.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        DuplicatePair.objects.bulk_update(
            changed, ["score", "reasons", "exact", "auto_merge_ok", "status"], batch_size=500
        )
        created += len(new)
        updated += len(changed)
    return created, updated


def duplicate_pairs_from_candidates(
    *, items: Iterable[tuple[int, Candidate]], source: str = PairSource.IMPORT, source_ref: str = ""
) -> tuple[int, int]:
    """For the importer: (customer id it created or kept, a Candidate found for it)."""
    return duplicate_pairs_record(
        pairs=(
            PairInput(cid, c.customer_id, c.score, c.reasons, c.exact, c.auto_merge_ok)
            for cid, c in items
        ),
        source=source,
        source_ref=source_ref,
    )


def _pair_require(actor: Any, pair: DuplicatePair) -> tuple[Customer, Customer]:
    """Both customers alive and visible (else 404), the right to review duplicates."""
    a = Customer.objects.filter(pk=pair.a_id).first()
    b = Customer.objects.filter(pk=pair.b_id).first()
    if a is None or b is None or not can(actor, "view", a) or not can(actor, "view", b):
        raise NotFound()
    require(actor, "edit", DuplicatePair)
    return a, b


@transaction.atomic
def duplicate_pair_dismiss(*, actor: Any, pair: DuplicatePair, note: str = "") -> DuplicatePair:
    """ "Not a duplicate": the pair leaves the queue and the scan never reopens it."""
    a, b = _pair_require(actor, pair)
    for customer in (a, b):
        require(actor, "edit", customer)
    if pair.status != PairStatus.OPEN:
        raise Conflict(_("该疑似重复已处理"))
    pair.status = PairStatus.DISMISSED
    pair.decided_at = timezone.now()
    pair.decided_by = actor
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        action="dismiss",
        actor=actor,
        obj=pair,
        object_repr=f"{a.name} / {b.name}"[:200],
        changes={"a": a.pk, "b": b.pk, "score": pair.score, "note": note[:200]},
    )
    return pair


@transaction.atomic
def duplicate_pair_reopen(*, actor: Any, pair: DuplicatePair) -> DuplicatePair:
    _pair_require(actor, pair)
    if pair.status != PairStatus.DISMISSED:
        raise Conflict(_("只有标记为“不是重复”的记录可以重新打开"))
    pair.status = PairStatus.OPEN
    pair.decided_at = None
    pair.decided_by = None
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(action="reopen", actor=actor, obj=pair)
    return pair


# ----------------------------------------------------------------- merge


def _unique_sets(
    model: type[models.Model], field: models.ForeignKey
) -> list[tuple[list[str], Q | None]]:
    """(the other columns, the condition) of each unique constraint that includes `field`;
    no other columns: the field itself is unique (a one-to-one)."""
    sets: list[tuple[list[str], Q | None]] = []
    if field.unique:
        sets.append(([], None))
    groups: list[tuple[tuple[str, ...], Q | None]] = [
        (tuple(u), None) for u in model._meta.unique_together
    ]
    for c in model._meta.constraints:
        if isinstance(c, models.UniqueConstraint) and c.fields:
            groups.append((tuple(c.fields), c.condition))
    for group, condition in groups:
        if field.name in group or field.attname in group:
            others = [attname(model, n) for n in group if n not in (field.name, field.attname)]
            sets.append((others, condition))
    return sets


def _relocate(
    field: models.ForeignKey,
    survivor: Customer,
    loser: Customer,
    moved: dict[str, list[Any]],
    dropped: dict[str, list[dict[str, Any]]],
    kept: dict[str, list[Any]],
) -> None:
    """Re-point the loser's rows of one foreign key to the survivor, minding the model's
    unique constraints (a partial one only for the rows its condition covers)."""
    model = field.model
    manager = model._base_manager
    rows = list(manager.filter(**{field.attname: loser.pk}))
    if not rows:
        return
    label = model._meta.label
    sets = _unique_sets(model, field)
    taken: list[set[tuple[Any, ...]]] = []
    covers: list[set[Any] | None] = []  # loser rows a partial constraint applies to
    for others, condition in sets:
        theirs = manager.filter(**{field.attname: survivor.pk})
        if condition is not None:
            theirs = theirs.filter(condition)
            covers.append(
                set(
                    manager.filter(condition, **{field.attname: loser.pk}).values_list(
                        "pk", flat=True
                    )
                )
            )
        else:
            covers.append(None)
        if others:
            taken.append(set(theirs.values_list(*others)))
        else:
            taken.append({()} if theirs.exists() else set())
    move_ids: list[Any] = []
    for row in rows:
        applies = [cover is None or row.pk in cover for cover in covers]
        values = [tuple(getattr(row, o) for o in others) for others, _c in sets]
        clash = any(on and v in used for on, v, used in zip(applies, values, taken, strict=True))
        if not clash:
            move_ids.append(row.pk)
            for on, v, used in zip(applies, values, taken, strict=True):
                if on:
                    used.add(v)
        elif hasattr(model, "deleted_at"):
            # A domain record: never dropped; it stays on the loser (recycle bin).
            kept.setdefault(label, []).append(_jsonable(row.pk))
        else:
            # A link row the survivor already has (same tag, same collaborator).
            dropped.setdefault(label, []).append(_row_values(row))
            manager.filter(pk=row.pk).delete()
    if move_ids:
        manager.filter(pk__in=move_ids).update(**{field.attname: survivor.pk})
        moved[f"{label}.{field.name}"] = [_jsonable(i) for i in move_ids]


def _row_values(obj: models.Model) -> dict[str, Any]:
    return {f.attname: _jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _snapshot(customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in [*MERGE_FIELDS, *DERIVED_FIELDS]:
        column = attname(Customer, name)
        values[column] = _jsonable(getattr(customer, column))
    return values


def _choice_value(choice: str | None, mine: Any, theirs: Any) -> Any:
    if choice in ("a", "survivor"):
        return mine
    if choice in ("b", "loser"):
        return theirs
    return mine if mine not in (None, "", {}, []) else theirs


def merge_choices_clean(
    survivor: Customer, loser: Customer, choices: dict[str, str] | None
) -> dict[str, str]:
    """Validate `choices` ({field: "a"|"b"}, custom fields as "custom.<key>")."""
    out: dict[str, str] = {}
    custom_keys = set(survivor.custom or {}) | set(loser.custom or {})
    for key, value in (choices or {}).items():
        value = {"survivor": "a", "loser": "b"}.get(str(value), str(value))
        if value not in ("a", "b"):
            raise ValidationFailed(_("合并选项只能是 a（保留客户）或 b（被合并客户）"), field=key)
        if key in MERGE_FIELDS or (key.startswith("custom.") and key[7:] in custom_keys):
            out[key] = value
        else:
            raise ValidationFailed(_("不能合并的字段：%(f)s") % {"f": key[:50]}, field=key)
    return out


@transaction.atomic
def customer_merge(
    *,
    actor: Any,
    survivor: Customer,
    loser: Customer,
    choices: dict[str, str] | None = None,
    survivor_version: int | None = None,
    loser_version: int | None = None,
) -> MergeRecord:
    """Merge `loser` into `survivor`: chosen field values, every related record, tags and
    collaborators on the survivor; the loser to the recycle bin. Undo with
    `customer_merge_undo`. `choices`: {field: "a" (survivor's) | "b" (loser's)}; a field not
    chosen keeps the survivor's value, or takes the loser's when the survivor's is empty."""
    if survivor.pk == loser.pk:
        raise ValidationFailed(_("不能把客户与自身合并"), field="loser")
    # Fresh, locked rows: a concurrent edit or merge of either waits for this one.
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, loser.pk])
    }
    if survivor.pk not in locked or loser.pk not in locked:
        raise NotFound()
    for obj, expected in ((survivor, survivor_version), (loser, loser_version)):
        fresh = locked[obj.pk]
        if expected is not None and fresh.version != expected:
            from crm.core.errors import StaleVersion

            raise StaleVersion(current={"version": fresh.version})
    survivor, loser = locked[survivor.pk], locked[loser.pk]
    for customer in (survivor, loser):
        require(actor, "edit", customer)
    require(actor, "edit", DuplicatePair)
    require(actor, "delete", loser)
    picked = merge_choices_clean(survivor, loser, choices)

    before = _snapshot(survivor)
    # -- field values
    changed: list[str] = []
    for name in MERGE_FIELDS:
        column = attname(Customer, name)
        mine, theirs = getattr(survivor, column), getattr(loser, column)
        value = _choice_value(picked.get(name), mine, theirs)
        if value != mine:
            setattr(survivor, column, value)
            changed.append(name)
    custom = dict(survivor.custom or {})
    for key in sorted(set(survivor.custom or {}) | set(loser.custom or {})):
        value = _choice_value(
            picked.get(f"custom.{key}"),
            (survivor.custom or {}).get(key),
            (loser.custom or {}).get(key),
        )
        if value is None:
            custom.pop(key, None)
        else:
            custom[key] = value
    require_writable(actor, "customer", changed)
    if "owner" in changed:
        survivor.owned_since = loser.owned_since if survivor.owner_id else None
        survivor.pool_entered_at = loser.pool_entered_at
        survivor.pool_reason = loser.pool_reason
    survivor.custom = custom
    survivor.name_key = company_name_key(survivor.name)
    # The latest follow-up of either decides the dates; the latest deal counts.
    if loser.last_follow_up_at and (
        survivor.last_follow_up_at is None or loser.last_follow_up_at > survivor.last_follow_up_at
    ):
        survivor.last_follow_up_at = loser.last_follow_up_at
        survivor.next_follow_up_at = loser.next_follow_up_at
    if loser.last_won_at and (
        survivor.last_won_at is None or loser.last_won_at > survivor.last_won_at
    ):
        survivor.last_won_at = loser.last_won_at

    # -- related records
    moved: dict[str, list[Any]] = {}
    dropped: dict[str, list[dict[str, Any]]] = {}
    kept: dict[str, list[Any]] = {}
    try:
        for field in customer_relations():
            _relocate(field, survivor, loser, moved, dropped, kept)
    except IntegrityError as exc:
        # A constraint this module cannot see (a trigger, a CHECK across rows): refuse
        # the merge as a whole rather than fail with a server error.
        raise Conflict(_("合并失败：有关联记录与保留客户的记录冲突，请联系管理员")) from exc

    # Two primary contacts after the merge: the survivor's stays primary.
    primary_cleared: list[int] = []
    if (
        Contact.all_objects.filter(customer_id=survivor.pk, is_primary=True)
        .exclude(pk__in=moved.get("customers.Contact.customer", []))
        .exists()
    ):
        primary_cleared = list(
            Contact.all_objects.filter(
                pk__in=moved.get("customers.Contact.customer", []), is_primary=True
            ).values_list("pk", flat=True)
        )
        Contact.all_objects.filter(pk__in=primary_cleared).update(is_primary=False)

    # -- pairs: the reviewed one is merged; others involving the loser are obsolete
    pairs_before: dict[str, str] = {}
    a_id, b_id = _pair_ids(survivor.pk, loser.pk)
    for pair in DuplicatePair.objects.filter(Q(a_id=loser.pk) | Q(b_id=loser.pk)):
        pairs_before[str(pair.pk)] = pair.status
    survivor.completeness = completeness_compute(survivor)
    save_with_version(
        survivor,
        expected_version=None,
        fields=[*MERGE_FIELDS, *DERIVED_FIELDS],
    )
    record_delete(actor=actor, obj=loser)
    after = _snapshot(survivor)
    record = MergeRecord.objects.create(
        survivor=survivor,
        loser=loser,
        actor=actor,
        choices=picked,
        survivor_before=before,
        survivor_after=after,
        loser_version=loser.version,
        moved=moved,
        dropped=dropped,
        extra={"pairs": pairs_before, "primary_cleared": primary_cleared, "kept": kept},
    )
    now = timezone.now()
    DuplicatePair.objects.filter(pk__in=[int(k) for k in pairs_before]).exclude(
        a_id=a_id, b_id=b_id
    ).filter(status=PairStatus.OPEN).update(status=PairStatus.OBSOLETE)
    DuplicatePair.objects.filter(a_id=a_id, b_id=b_id).update(
        status=PairStatus.MERGED, decided_at=now, decided_by=actor, merge=record
    )

    counts = {k: len(v) for k, v in moved.items()}
    changes = _field_changes(before, after)
    audit_record(
        action="merge",
        actor=actor,
        obj=survivor,
        changes={
            "merge": record.pk,
            "loser": loser.pk,
            "loser_name": loser.name,
            "fields": changes,
            "moved": counts,
            "dropped": {k: len(v) for k, v in dropped.items()},
            "kept_on_loser": kept,
        },
    )
    audit_record(
        action="merged_into",
        actor=actor,
        obj=loser,
        changes={"merge": record.pk, "survivor": survivor.pk, "survivor_name": survivor.name},
    )
    timeline_append(
        customer_id=survivor.pk,
        kind="merged",
        actor=actor,
        summary=_("合并了重复客户「%(name)s」") % {"name": loser.name},
        data={
            "merge": record.pk,
            "loser": loser.pk,
            "loser_name": loser.name,
            "changes": changes,
            "moved": counts,
        },
        ref_entity="merge",
        ref_id=record.pk,
    )
    _reindex(survivor, moved)
    search_remove("customer", loser.pk)
    for hook in _HOOKS:
        hook(survivor, loser, record, False)
    return record


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} of the chosen fields, by field name (as the customer's own
    timeline entries are, so field security applies to them), owners by name."""
    from crm.access.models import User

    out: dict[str, list[Any]] = {}
    for name in MERGE_FIELDS:
        column = attname(Customer, name)
        if before.get(column) != after.get(column):
            out[name] = [before.get(column), after.get(column)]
    if "owner" in out:
        ids = [i for i in out["owner"] if i]
        names = {
            pk: display or username
            for pk, display, username in User.objects.filter(pk__in=ids).values_list(
                "pk", "display_name", "username"
            )
        }
        out["owner"] = [names.get(i) if i else None for i in out["owner"]]
    return out


def _reindex(customer: Customer, moved: dict[str, list[Any]]) -> None:
    search_index(customer)
    ids = moved.get("customers.Contact.customer", [])
    for contact in Contact.objects.filter(pk__in=ids).select_related("customer"):
        search_index(contact)


def merge_can_undo(actor: Any, record: MergeRecord) -> bool:
    if record.undone_at is not None or record.survivor_id is None or record.loser_id is None:
        return False
    survivor = Customer.objects.filter(pk=record.survivor_id).first()
    return (
        survivor is not None and can(actor, "edit", survivor) and can(actor, "edit", DuplicatePair)
    )


@transaction.atomic
def customer_merge_undo(*, actor: Any, merge: MergeRecord) -> MergeRecord:
    """Put everything back: the loser out of the recycle bin, each moved record back on it,
    dropped link rows recreated, the survivor's merged fields as they were. A field edited
    on the survivor since the merge keeps the new value (listed in the audit entry); a
    record created on the survivor since stays there."""
    record = MergeRecord.objects.select_for_update().filter(pk=merge.pk).first()
    if record is None:
        raise NotFound()
    survivor = Customer.objects.select_for_update().filter(pk=record.survivor_id).first()
    if survivor is None or not can(actor, "view", survivor):
        raise NotFound()
    require(actor, "edit", survivor)
    require(actor, "edit", DuplicatePair)
    if record.undone_at is not None:
        raise Conflict(_("该合并已撤销"))
    if record.loser_id is None:
        raise Conflict(_("被合并的客户已被彻底删除，无法撤销"))
    loser = Customer.all_objects.filter(pk=record.loser_id).first()
    if loser is None:
        raise Conflict(_("被合并的客户已被彻底删除，无法撤销"))
    if loser.deleted_at is None:
        raise Conflict(_("被合并的客户已从回收站恢复，无法再撤销合并"))
    # The recycle bin's own rules: the actor must be able to restore the loser.
    try:
        record_restore(actor=actor, entity_key="customer", pk=loser.pk)
    except NotFound as exc:
        raise PermissionDenied(_("您无权恢复被合并的客户")) from exc
    loser.refresh_from_db()

    # -- related records back to the loser (only those still on the survivor)
    returned: dict[str, int] = {}
    for key, ids in record.moved.items():
        label, _sep, field_name = key.rpartition(".")
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        field = model._meta.get_field(field_name)
        n = model._base_manager.filter(pk__in=ids, **{field.attname: survivor.pk}).update(
            **{field.attname: loser.pk}
        )
        returned[key] = n
    for label, rows in record.dropped.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        objs = []
        for values in rows:
            obj = model()
            for f in model._meta.concrete_fields:
                if f.attname in values:
                    setattr(obj, f.attname, f.to_python(values[f.attname]))
            objs.append(obj)
        model._base_manager.bulk_create(objs, ignore_conflicts=True)
    primary = record.extra.get("primary_cleared", [])
    if primary:
        Contact.all_objects.filter(pk__in=primary, customer_id=loser.pk).update(is_primary=True)

    # -- the survivor's fields: back where the merge changed them and nobody edited since
    current = _snapshot(survivor)
    kept_edits: list[str] = []
    restore: list[str] = []
    for column, old in record.survivor_before.items():
        if column == "completeness":
            continue
        if current.get(column) == record.survivor_after.get(column):
            if current.get(column) != old:
                restore.append(column)
        elif record.survivor_after.get(column) != old:
            kept_edits.append(column)
    for column in restore:
        field = next(f for f in Customer._meta.concrete_fields if f.attname == column)
        value = record.survivor_before[column]
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        elif not isinstance(field, models.JSONField):
            value = field.to_python(value)
        setattr(survivor, column, value)
    survivor.completeness = completeness_compute(survivor)
    fields = [f.name for f in Customer._meta.concrete_fields if f.attname in restore] + [
        "completeness"
    ]
    save_with_version(survivor, expected_version=None, fields=fields)

    # -- pairs as they were
    for pk, status in record.extra.get("pairs", {}).items():
        DuplicatePair.objects.filter(pk=int(pk)).update(
            status=status,
            **(
                {"decided_at": None, "decided_by": None, "merge": None}
                if status == PairStatus.OPEN
                else {}
            ),
        )

    record.undone_at = timezone.now()
    record.undone_by = actor
    record.save(update_fields=["undone_at", "undone_by"])
    audit_record(
        action="merge_undo",
        actor=actor,
        obj=survivor,
        changes={
            "merge": record.pk,
            "loser": loser.pk,
            "returned": returned,
            "restored_fields": restore,
            "kept_edits": kept_edits,
        },
    )
    timeline_append(
        customer_id=survivor.pk,
        kind="merge_undone",
        actor=actor,
        summary=_("撤销了与「%(name)s」的合并") % {"name": loser.name},
        data={"merge": record.pk, "loser": loser.pk, "kept_edits": kept_edits},
        ref_entity="merge",
        ref_id=record.pk,
    )
    search_index(survivor)
    search_index(loser)
    for key, ids in record.moved.items():
        if key == "customers.Contact.customer":
            for contact in Contact.objects.filter(pk__in=ids).select_related("customer"):
                search_index(contact)
    for hook in _HOOKS:
        hook(survivor, loser, record, True)
    return record


# ----------------------------------------------------------------- the scan

SCAN_MIN_SCORE = 75.0
KEYS_REBUILD_EVERY = dt.timedelta(days=7)


@dataclass
class ScanResult:
    full: bool
    customers: int  # customers looked at (the incremental scan) or keyed (full)
    created: int
    updated: int
    obsoleted: int
    stats: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "customers": self.customers,
            "created": self.created,
            "updated": self.updated,
            "obsoleted": self.obsoleted,
            "stats": self.stats,
        }


def duplicate_scan(*, full: bool = True, min_score: float = SCAN_MIN_SCORE) -> ScanResult:
    """Find candidate pairs among existing customers and queue them (a system job).

    full: every customer, set-based (crm.dedupe.scan.find_pairs); open scan pairs that are
    not found any more become obsolete. Otherwise only customers changed since the last
    scan are matched against everyone (crm.dedupe.matching.customer_candidates).
    """
    from crm.dedupe.blocking import keys_sync, state_get
    from crm.dedupe.matching import customer_candidates
    from crm.dedupe.models import DedupeState
    from crm.dedupe.scan import customer_rows_unscoped, find_pairs

    started = timezone.now()
    state = state_get()
    full = full or state.full_scan_at is None
    rebuild = full and (state.full_at is None or started - state.full_at > KEYS_REBUILD_EVERY)
    keyed = keys_sync(full=rebuild)
    obsoleted = 0
    if full:
        found, stats = find_pairs(min_score=min_score)
        with transaction.atomic():
            created, updated = duplicate_pairs_record(
                pairs=(
                    PairInput(p.a_id, p.b_id, p.score, p.reasons, p.exact, p.auto_merge_ok)
                    for p in found
                ),
                source=PairSource.SCAN,
            )
            seen = {(p.a_id, p.b_id) for p in found}
            gone = [
                pk
                for pk, a, b in DuplicatePair.objects.filter(
                    status=PairStatus.OPEN, source=PairSource.SCAN
                ).values_list("pk", "a_id", "b_id")
                if (a, b) not in seen
            ]
            for part in range(0, len(gone), 900):
                obsoleted += DuplicatePair.objects.filter(pk__in=gone[part : part + 900]).update(
                    status=PairStatus.OBSOLETE
                )
        stat_dict: dict[str, Any] = {
            "pairs_scored": stats.pairs_scored,
            "pairs_kept": stats.pairs_kept,
            "groups": stats.groups,
            "groups_capped": stats.groups_capped,
            "seconds": stats.seconds,
            "keys_rebuilt": rebuild,
        }
        looked_at = keyed
    else:
        since = state.scan_at or started
        ids = list(
            Customer.objects.filter(updated_at__gte=since).order_by().values_list("pk", flat=True)
        )
        pairs: list[PairInput] = []
        for part in range(0, len(ids), 2000):
            rows = customer_rows_unscoped(ids[part : part + 2000])
            for row, cands in zip(rows, customer_candidates(rows, limit=10), strict=True):
                for c in cands:
                    if c.customer_id != row["id"] and (c.exact or c.score >= min_score):
                        pairs.append(
                            PairInput(
                                row["id"],
                                c.customer_id,
                                c.score,
                                c.reasons,
                                c.exact,
                                c.auto_merge_ok,
                            )
                        )
        created, updated = duplicate_pairs_record(pairs=pairs, source=PairSource.SCAN)
        stat_dict = {"changed_customers": len(ids), "pairs_kept": len(pairs)}
        looked_at = len(ids)
    # Pairs whose customer went to the recycle bin (or was merged elsewhere) leave the queue.
    obsoleted += (
        DuplicatePair.objects.filter(status=PairStatus.OPEN)
        .filter(Q(a__deleted_at__isnull=False) | Q(b__deleted_at__isnull=False))
        .update(status=PairStatus.OBSOLETE)
    )
    stat_dict["seconds_total"] = round((timezone.now() - started).total_seconds(), 2)
    DedupeState.objects.filter(pk=1).update(
        scan_at=started,
        scan_stats=_jsonable(stat_dict),
        **({"full_scan_at": started} if full else {}),
    )
    return ScanResult(full, looked_at, created, updated, obsoleted, stat_dict)
