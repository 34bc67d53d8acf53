"""Every read of the import app: batches, their reports, templates, the reconciliation of a
staged migration, and the preview of the first rows after cleaning."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, QuerySet

from crm.access.visibility import is_admin, visible
from crm.core.errors import NotFound
from crm.imports.adapters import adapter_get, adapters
from crm.imports.models import (
    BatchStatus,
    ImportBatch,
    ImportRow,
    MappingTemplate,
    RowAction,
    RowPhase,
)


def import_batches(*, actor: Any, migration: str | None = None) -> QuerySet[ImportBatch]:
    """Batches the actor may see: their own, and (through the grants) their team's."""
    qs = visible(actor, ImportBatch) | ImportBatch.objects.filter(created_by_id=actor.pk)
    if migration:
        qs = qs.filter(migration=migration)
    return qs.select_related("created_by").order_by("-id")


def import_batch_get(*, actor: Any, batch_id: Any) -> ImportBatch:
    try:
        return import_batches(actor=actor).get(pk=int(batch_id))
    except (ValueError, TypeError, ImportBatch.DoesNotExist) as exc:
        raise NotFound() from exc


def import_entities(*, actor: Any) -> list[Any]:
    """The adapters the actor may import with."""
    return [a for a in adapters() if a.may_import(actor)]


def import_can_any(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and bool(import_entities(actor=actor))


def batch_phase(batch: ImportBatch) -> str:
    """The phase whose rows describe the batch now: the run once it started, else the dry run."""
    if (
        batch.status in (BatchStatus.UPLOADED, BatchStatus.CHECKING, BatchStatus.CHECKED)
        or batch.dry_run_only
    ):
        return RowPhase.DRY
    return RowPhase.RUN


def import_rows(
    *, batch: ImportBatch, phase: str | None = None, action: str | None = None
) -> QuerySet[ImportRow]:
    qs = ImportRow.objects.filter(batch=batch, phase=phase or batch_phase(batch))
    if action:
        qs = qs.filter(action=action)
    return qs.order_by("row")


def import_action_counts(*, batch: ImportBatch, phase: str | None = None) -> dict[str, int]:
    rows = (
        import_rows(batch=batch, phase=phase)
        .order_by()
        .values_list("action")
        .annotate(n=Count("id"))
    )
    return {action: n for action, n in rows}


def import_report(
    *,
    batch: ImportBatch,
    phase: str | None = None,
    limit: int | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """The report of a batch (the contract of the CLI and the API):
    {"batch", "entity", "status", "dry_run", "summary": {rows, created, updated, merged,
    duplicates, rejected, skipped}, "messages", "rows": [{row, action, values, messages}]}."""
    phase = phase or batch_phase(batch)
    summary = batch.dry_run_summary if phase == RowPhase.DRY else batch.summary
    from crm.imports.services import summary_empty

    base = summary_empty()
    base.update({k: v for k, v in (summary or {}).items() if k in base})
    rows = import_rows(batch=batch, phase=phase, action=action)
    if limit is not None:
        rows = rows[:limit]
    out_rows = []
    for r in rows.iterator(chunk_size=2000):
        item: dict[str, Any] = {
            "row": r.row,
            "action": r.action,
            "values": r.values,
            "messages": r.messages,
        }
        if r.target_id:
            item["id"] = r.target_id
        if r.candidates:
            item["candidates"] = r.candidates
        out_rows.append(item)
    return {
        "batch": batch.pk,
        "entity": batch.entity,
        "file": batch.file_name,
        "migration": batch.migration,
        "status": batch.status,
        "dry_run": phase == RowPhase.DRY,
        "source_rows": batch.source_rows,
        "left_out": int((summary or {}).get("left_out") or 0),
        "where": [
            f"{w['label']}={','.join(w['values'])}" for w in batch.options.get("where") or []
        ],
        "summary": base,
        "messages": list(batch.file_messages or []),
        "rows": out_rows,
    }


def mapping_templates(*, actor: Any, entity: str) -> QuerySet[MappingTemplate]:
    qs = MappingTemplate.objects.filter(entity=entity)
    if not is_admin(actor):
        from django.db.models import Q

        qs = qs.filter(Q(created_by=actor) | Q(shared=True))
    return qs.order_by("name")


def mapping_template_get(*, actor: Any, template_id: Any) -> MappingTemplate:
    try:
        template = MappingTemplate.objects.get(pk=int(template_id))
    except (ValueError, TypeError, MappingTemplate.DoesNotExist) as exc:
        raise NotFound() from exc
    if not (template.shared or template.created_by_id == actor.pk or is_admin(actor)):
        raise NotFound()
    return template


def import_migrations(*, actor: Any) -> list[dict[str, Any]]:
    rows = (
        import_batches(actor=actor)
        .exclude(migration="")
        .order_by()
        .values("migration")
        .annotate(batches=Count("id"), last=Max("created_at"))
        .order_by("-last")
    )
    return [dict(r) for r in rows]


def import_reconciliation(*, actor: Any, migration: str) -> dict[str, Any]:
    """Source rows vs what became of them, over every batch of a staged migration.

    Per source file (by content): the rows in the file, the rows some batch took in (its
    --where may have left rows for a later stage), the last outcome of each such row, and
    the rows no batch has taken yet — the rows a migration would otherwise lose. Batches
    rolled back and dry runs do not count. A row keeps the outcome of the batch that wrote
    it (created, merged, updated) even when a later batch skipped it as already imported."""
    batches = list(
        import_batches(actor=actor, migration=migration)
        .exclude(status=BatchStatus.ROLLED_BACK)
        .filter(dry_run_only=False)
    )
    if not batches:
        raise NotFound()
    files: dict[str, dict[str, Any]] = {}
    for b in sorted(batches, key=lambda b: b.pk):
        f = files.setdefault(
            f"{b.entity}:{b.file_sha256}",
            {
                "file": b.file_name,
                "entity": b.entity,
                "source_rows": b.source_rows,
                "batches": [],
                "last": {},
            },
        )
        f["batches"].append(
            {
                "id": b.pk,
                "status": b.status,
                "status_label": b.get_status_display(),
                "where": [
                    f"{w['label']}={','.join(w['values'])}" for w in b.options.get("where") or []
                ],
                "summary": b.summary,
            }
        )
    ids = [b.pk for b in batches]
    by_batch = {b.pk: f"{b.entity}:{b.file_sha256}" for b in batches}
    for batch_id, row, action in (
        ImportRow.objects.filter(batch_id__in=ids, phase=RowPhase.RUN)
        .order_by("batch_id")
        .values_list("batch_id", "row", "action")
        .iterator(chunk_size=5000)
    ):
        last = files[by_batch[batch_id]]["last"]
        # A row a batch wrote keeps that outcome; a later "already imported, skipped" does
        # not hide it. Otherwise the latest batch's outcome counts.
        if last.get(row) not in (RowAction.CREATE, RowAction.MERGE, RowAction.UPDATE):
            last[row] = action
    keys = ["created", "updated", "merged", "duplicates", "rejected", "skipped"]
    from crm.imports.services import SUMMARY_KEYS

    totals = {"source_rows": 0, "covered": 0, "not_covered": 0, **{k: 0 for k in keys}}
    out_files = []
    for f in files.values():
        counts = {k: 0 for k in keys}
        for action in f["last"].values():
            counts[SUMMARY_KEYS[RowAction(action)]] += 1
        covered = len(f["last"])
        item = {
            "file": f["file"],
            "entity": f["entity"],
            "source_rows": f["source_rows"],
            "covered": covered,
            "not_covered": max(f["source_rows"] - covered, 0),
            **counts,
            "batches": f["batches"],
        }
        out_files.append(item)
        for k in totals:
            totals[k] += item[k]
    return {"migration": migration, "files": out_files, "totals": totals}


def import_preview(*, batch: ImportBatch, limit: int = 20) -> list[Any]:
    """The first rows after cleaning and duplicate checks, nothing written."""
    from crm.imports.services import _context, batch_head, batch_rows, process_chunk

    adapter = adapter_get(batch.entity)
    table = batch_head(batch)
    ctx = _context(batch, batch.created_by, dry_run=True)
    rows = []
    for row in batch_rows(batch, table):
        rows.append(row)
        if len(rows) >= limit:
            break
    kept, _out = process_chunk(adapter, batch, rows, ctx)
    return kept


def import_default_actor_unscoped() -> Any:
    """The first active administrator: who `crm import` runs as without --user. Unscoped:
    there is no actor yet to scope by."""
    from django.db.models import Q

    from crm.access.models import User

    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(roles__is_admin=True))
        .order_by("pk")
        .first()
    )
