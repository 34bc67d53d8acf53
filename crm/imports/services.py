"""Every write of the import app: batches (upload, mapping, dry run, run, resume, rollback),
mapping templates and the import settings.

The engine reads the stored file again for each phase, cleans and decides rows a chunk at a
time and, in a real run, writes each chunk in one transaction together with its ImportRow
results and the batch's progress (`last_row`). A crash or kill therefore loses at most the
chunk in flight: the database holds whole chunks only, and `import_resume` continues after
`last_row` (or `import_rollback` undoes what the committed chunks wrote).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.visibility import is_admin
from crm.audit.services import audit_record
from crm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from crm.imports import config
from crm.imports.adapters import Adapter, Context, Row, _json, adapter_get, fingerprint
from crm.imports.mapping import auto_map, header_key
from crm.imports.models import (
    BatchStatus,
    ImportBatch,
    ImportRow,
    MappingTemplate,
    MergeMode,
    RowAction,
    RowPhase,
)
from crm.imports.readers import Limits, Table, read_table

log = logging.getLogger(__name__)

CHUNK = 1000
HEAD_ROWS = 50  # rows kept with the batch for the preview
# A running batch whose worker has not reported for this long is considered dead.
STALE_AFTER = dt.timedelta(minutes=5)
SUMMARY_KEYS = {
    RowAction.CREATE: "created",
    RowAction.UPDATE: "updated",
    RowAction.MERGE: "merged",
    RowAction.DUPLICATE: "duplicates",
    RowAction.REJECT: "rejected",
    RowAction.SKIP: "skipped",
}
WRITING_ACTIONS = (RowAction.CREATE, RowAction.UPDATE, RowAction.MERGE)


def summary_empty() -> dict[str, int]:
    return {"rows": 0, **{key: 0 for key in SUMMARY_KEYS.values()}}


def _limits(settings: dict[str, Any] | None = None) -> Limits:
    s = settings or config.import_settings()
    return Limits(
        max_bytes=int(s.get("max_file_mb") or 50) * 1024 * 1024,
        max_rows=int(s.get("max_rows") or 200_000),
        max_cell_chars=int(s.get("max_cell_chars") or 5_000),
    )


def _adapter_for(actor: Any, entity: str) -> Adapter:
    adapter = adapter_get(entity)
    if not adapter.may_import(actor):
        raise PermissionDenied(_("您没有导入%s的权限，请联系管理员开通") % adapter.label)
    return adapter


def batch_owner_check(actor: Any, batch: ImportBatch) -> None:
    """Only the person who started a batch (or an administrator) may act on it."""
    if batch.created_by_id != getattr(actor, "pk", None) and not is_admin(actor):
        raise NotFound()


# ---------------------------------------------------------------- upload and mapping


def mapping_suggest(
    adapter: Adapter, headers: list[str], template: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(column index → field key, column index → why, messages)."""
    fields = adapter.fields()
    concepts = adapter.concepts()
    by_label = {header_key(str(f.label)): f.key for f in fields}
    by_key = {f.key: f for f in fields}
    auto = auto_map(headers, set(concepts))
    mapping: dict[str, str] = {}
    sources: dict[str, str] = {}
    used: set[str] = set()
    for i, header in enumerate(headers):
        key, source = "", ""
        hk = header_key(header)
        if template is not None and template.get(header) is not None:
            key, source = template[header], _("映射模板")
            if key and key not in by_key:
                key, source = "", _("模板中的字段已不存在")
        elif auto.columns[i].by_vendor:
            concept = auto.columns[i].concept
            key, source = (concepts[concept], auto.columns[i].source) if concept else ("", "")
        elif hk in by_label:
            key, source = by_label[hk], _("字段名")
        elif hk.replace("联系人", "", 1) in by_label and by_label[
            hk.replace("联系人", "", 1)
        ].startswith("contact."):
            key, source = by_label[hk.replace("联系人", "", 1)], _("字段名")
        elif auto.columns[i].concept:
            key, source = concepts[auto.columns[i].concept], auto.columns[i].source
        if key and key in used and not by_key[key].multi:
            key, source = "", _("与前面的列重复")
        if key:
            used.add(key)
        mapping[str(i)] = key
        sources[str(i)] = str(source)
    return mapping, sources, auto.messages


@transaction.atomic
def import_upload(
    *,
    actor: Any,
    entity: str,
    file_name: str,
    data: bytes,
    migration: str = "",
    template: MappingTemplate | None = None,
    mode: str = MergeMode.MERGE,
    dry_run_only: bool = False,
) -> ImportBatch:
    """Check and store an uploaded file as a new batch, with a suggested mapping.

    A file that cannot be read changes nothing: the refusal names the problem."""
    adapter = _adapter_for(actor, entity)
    if mode not in MergeMode.values:
        raise ValidationFailed(_("未知的处理方式"), field="mode")
    migration = (migration or "").strip()
    if len(migration) > 100:
        raise ValidationFailed(_("迁移批次名称不能超过 100 个字符"), field="migration")
    name = re.sub(r"[\\/\x00-\x1f]", "_", (file_name or "").strip())[-200:] or "import"
    settings = config.import_settings()
    limits = _limits(settings)
    table = read_table(name, data, limits)
    mapping, sources, messages = mapping_suggest(
        adapter, table.headers, template.mapping if template else None
    )
    batch = ImportBatch(
        entity=adapter.key,
        created_by=actor,
        file_name=name,
        file_size=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_format=table.format,
        encoding=table.encoding,
        headers=table.headers,
        mapping=mapping,
        options={
            "mode": mode,
            "where": [],
            "sources": sources,
            "template": template.name if template else "",
            "max_cell_chars": limits.max_cell_chars,
            # The first rows, shown next to each column while mapping (no re-reading).
            "samples": [[c[:80] for c in r] for r in table.rows[:5]],
            # The first rows as read, for the preview (a 100,000-row workbook is not read
            # again to show 20 rows).
            "head": {
                "rows": table.rows[:HEAD_ROWS],
                "numbers": table.numbers[:HEAD_ROWS],
                "notes": {
                    str(n): table.notes[n] for n in table.numbers[:HEAD_ROWS] if n in table.notes
                },
                "refusals": {
                    str(n): table.refusals[n]
                    for n in table.numbers[:HEAD_ROWS]
                    if n in table.refusals
                },
            },
        },
        migration=migration,
        file_messages=[*table.messages, *messages],
        source_rows=len(table.rows),
        total_rows=len(table.rows),
        dry_run_only=dry_run_only,
    )
    batch.file.save(f"batch.{table.format}", ContentFile(data), save=False)
    batch.save()
    audit_record(
        action="create",
        actor=actor,
        entity="import_batch",
        object_id=batch.pk,
        object_repr=name,
        changes={"entity": adapter.key, "rows": batch.source_rows, "migration": migration},
    )
    return batch


def _where_parse(adapter: Adapter, batch: ImportBatch, items: list[str]) -> list[dict[str, Any]]:
    """["level=A", "province=浙江,江苏"] → [{"field", "label", "values"}]; FIELD is a field key,
    a field name or a column header of the file."""
    fields = adapter.fields()
    out: list[dict[str, Any]] = []
    for item in items:
        item = (item or "").strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise ValidationFailed(_("筛选条件应写成 字段=值，例如 level=A"), field="where")
        key = ""
        for f in fields:
            if name == f.key or header_key(name) == header_key(str(f.label)):
                key = f.key
                break
        else:
            for i, header in enumerate(batch.headers):
                if header_key(name) == header_key(header):
                    key = f"col:{i}"
                    break
        if not key:
            raise ValidationFailed(
                _("筛选条件中的字段「%s」既不是导入字段，也不是文件中的列") % name[:30],
                field="where",
            )
        values = [v.strip() for v in re.split(r"[,，]", value) if v.strip()]
        out.append({"field": key, "label": name, "values": values})
    return out


def _custom_key(label: str, existing: set[str]) -> str:
    from pypinyin import lazy_pinyin

    base = re.sub(r"[^a-z0-9_]+", "_", "_".join(lazy_pinyin(label)).lower()).strip("_")[:40]
    if not base or not base[0].isalpha():
        base = f"f_{base}"[:40]
    key, n = base, 2
    while key in existing:
        key, n = f"{base}_{n}", n + 1
    return key


@transaction.atomic
def import_mapping_set(
    *,
    actor: Any,
    batch: ImportBatch,
    mapping: dict[str, str],
    mode: str | None = None,
    where: list[str] | None = None,
    new_custom: dict[str, str] | None = None,
    template_name: str = "",
    template_shared: bool = False,
) -> ImportBatch:
    """Set the column mapping (column index → field key, "" = ignore) and the options.

    `new_custom` {column index: label} creates text custom fields for unknown columns
    (administrators only: custom fields are a schema change). `template_name` saves the
    mapping by header text for the next file of the same shape."""
    batch_owner_check(actor, batch)
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKED):
        raise ValidationFailed(_("该批次已开始导入，不能再修改映射"), field="mapping")
    adapter = adapter_get(batch.entity)
    by_key = adapter.field_map()
    width = len(batch.headers)
    clean: dict[str, str] = {str(i): "" for i in range(width)}
    for col, key in (mapping or {}).items():
        try:
            index = int(col)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("未知的列：%s") % str(col)[:20], field="mapping") from exc
        if not 0 <= index < width:
            raise ValidationFailed(_("未知的列：%s") % str(col)[:20], field="mapping")
        key = (key or "").strip()
        if key and key not in by_key:
            raise ValidationFailed(_("未知的字段：%s") % key[:50], field=f"mapping.{index}")
        clean[str(index)] = key
    if new_custom:
        from crm.customfields.services import custom_field_create, custom_field_defs

        entity = adapter.custom_entity()
        if not entity:
            raise ValidationFailed(_("该对象不支持自定义字段"), field="new_custom")
        existing = {d.key for d in custom_field_defs(entity, active_only=False)}
        for col, label in new_custom.items():
            if str(col) not in clean:
                raise ValidationFailed(_("未知的列：%s") % str(col)[:20], field="new_custom")
            label = (label or "").strip() or batch.headers[int(col)]
            key = _custom_key(label, existing)
            custom_field_create(
                actor=actor, entity=entity, key=key, label=label[:100], type="longtext"
            )
            existing.add(key)
            clean[str(col)] = f"custom.{key}"
        by_key = adapter.field_map()
    counts = Counter(v for v in clean.values() if v)
    dupes = [k for k, n in counts.items() if n > 1 and not by_key[k].multi]
    if dupes:
        raise ValidationFailed(
            _("以下字段被多个列映射：%s（每个字段只能对应一列）")
            % "、".join(str(by_key[k].label) for k in dupes),
            field="mapping",
        )
    _required_check(adapter, clean, by_key)
    options = dict(batch.options)
    if mode is not None:
        if mode not in MergeMode.values:
            raise ValidationFailed(_("未知的处理方式"), field="mode")
        options["mode"] = mode
    if where is not None:
        options["where"] = _where_parse(adapter, batch, where)
    batch.mapping = clean
    batch.options = options
    if batch.status == BatchStatus.CHECKED:
        batch.status = BatchStatus.UPLOADED  # a new mapping needs a new dry run
    batch.save(update_fields=["mapping", "options", "status", "updated_at"])
    if template_name.strip():
        mapping_template_save(
            actor=actor,
            entity=batch.entity,
            name=template_name,
            mapping={batch.headers[int(i)]: k for i, k in clean.items()},
            shared=template_shared,
        )
    return batch


def _required_check(adapter: Adapter, mapping: dict[str, str], by_key: dict[str, Any]) -> None:
    mapped = set(mapping.values())
    if adapter.key in ("contact", "followup") and not mapped & {"customer", "customer_credit_code"}:
        raise ValidationFailed(_("请映射「客户名称」或「客户统一社会信用代码」列"), field="mapping")
    for f in by_key.values():
        if not f.required or f.key in mapped:
            continue
        if f.key == "customer" and "customer_credit_code" in mapped:
            continue
        if (
            f.key == "name"
            and adapter.key == "contact"
            and mapped & {"family_name", "given_name", "mobile", "phone", "email"}
        ):
            continue
        if f.key == "name" and adapter.key == "lead" and mapped & {"family_name", "given_name"}:
            continue
        raise ValidationFailed(_("请为必填字段「%s」选择一列") % f.label, field="mapping")


@transaction.atomic
def mapping_template_save(
    *, actor: Any, entity: str, name: str, mapping: dict[str, str], shared: bool = False
) -> MappingTemplate:
    adapter = _adapter_for(actor, entity)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_("模板名称不能为空，且不超过 100 个字符"), field="template_name")
    by_key = adapter.field_map()
    clean = {str(h)[:100]: (k if k in by_key else "") for h, k in (mapping or {}).items()}
    template, _created = MappingTemplate.objects.update_or_create(
        entity=adapter.key,
        name=name,
        created_by=actor,
        defaults={"mapping": clean, "shared": bool(shared and is_admin(actor))},
    )
    return template


@transaction.atomic
def mapping_template_delete(*, actor: Any, template_id: int) -> None:
    template = MappingTemplate.objects.filter(pk=template_id).first()
    if template is None or (template.created_by_id != actor.pk and not is_admin(actor)):
        raise NotFound()
    template.delete()


# ---------------------------------------------------------------- reading rows


def batch_head(batch: ImportBatch) -> Table:
    """The first rows of the file as stored at upload (for the preview)."""
    head = batch.options.get("head") or {}
    table = Table(format=batch.file_format, encoding=batch.encoding, headers=list(batch.headers))
    table.rows = [list(r) for r in head.get("rows") or []]
    table.numbers = list(head.get("numbers") or [])
    table.notes = {int(k): list(v) for k, v in (head.get("notes") or {}).items()}
    table.refusals = {int(k): list(v) for k, v in (head.get("refusals") or {}).items()}
    return table


def upload_size_check(size: int) -> None:
    """Refuse a file over the size limit before reading it into memory."""
    limit = _limits().max_bytes
    if size > limit:
        raise ValidationFailed(
            _("文件大小 %(s).1f MB，超过上限 %(m)d MB")
            % {"s": size / 1024 / 1024, "m": limit // 1024 // 1024},
            field="file",
        )


def batch_table(batch: ImportBatch) -> Table:
    """The stored file read again (the limits it passed at upload; it was checked then)."""
    with batch.file.open("rb") as fh:
        data = fh.read()
    limits = Limits(
        max_bytes=max(len(data), 1),
        max_rows=max(batch.source_rows, 1),
        max_cell_chars=int(batch.options.get("max_cell_chars") or 5_000),
    )
    return read_table(batch.file_name, data, limits)


def _join(key: str, parts: list[tuple[str, str]]) -> str:
    if len(parts) == 1:
        return parts[0][1]
    if key.endswith("notes"):
        return "\n".join(f"{h}：{t}" for h, t in parts)
    if key.endswith(("mobile", "phone", "email")) or key == "tags":
        return "；".join(t for _h, t in parts)
    return " ".join(t for _h, t in parts)


def batch_rows(batch: ImportBatch, table: Table, *, after: int = 0) -> Iterator[Row]:
    mapping = {int(k): v for k, v in batch.mapping.items() if v}
    headers = batch.headers
    for cells, number in zip(table.rows, table.numbers, strict=True):
        if number <= after:
            continue
        parts: dict[str, list[tuple[str, str]]] = {}
        for col, key in mapping.items():
            text = cells[col] if col < len(cells) else ""
            if text and text.strip():
                parts.setdefault(key, []).append((headers[col], text.strip()))
        raw = {key: _join(key, p) for key, p in parts.items()}
        row = Row(
            number=number,
            raw=raw,
            sources={key: [h for h, _t in p] for key, p in parts.items()},
            notes=list(table.notes.get(number, [])),
            refusals=list(table.refusals.get(number, [])),
        )
        row.payload["cells"] = cells
        yield row


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------- the engine


def _context(batch: ImportBatch, actor: Any, *, dry_run: bool) -> Context:
    return Context(
        actor=actor,
        settings=config.import_settings(),
        mode=batch.options.get("mode") or MergeMode.MERGE,
        dry_run=dry_run,
        batch_id=batch.pk,
    )


def _matches_where(adapter: Adapter, row: Row, where: list[dict[str, Any]]) -> bool:
    for cond in where:
        key = cond["field"]
        if key.startswith("col:"):
            cells = row.payload.get("cells") or []
            col = int(key[4:])
            value = cells[col].strip() if col < len(cells) else ""
        else:
            value = adapter.where_value(row, key)
        wanted = {v.lower() for v in cond["values"]}
        if not ({p.strip().lower() for p in value.split(",")} & wanted or value.lower() in wanted):
            return False
    return True


def process_chunk(
    adapter: Adapter, batch: ImportBatch, rows: list[Row], ctx: Context
) -> tuple[list[Row], int]:
    """Clean, filter (--where), skip what was imported before, decide. Returns the rows of
    this batch and how many rows the filter left out."""
    where = batch.options.get("where") or []
    kept: list[Row] = []
    left_out = 0
    seen_prints: dict[str, int] = ctx.cache.setdefault("prints", {})
    for row in rows:
        if not row.raw:
            cells = row.payload.get("cells") or []
            if where:
                left_out += 1
                continue
            row.action = RowAction.SKIP
            row.messages.append(
                _("空行（只有空白），已跳过")
                if not any(str(c).strip() for c in cells)
                else _("映射的列都是空的，已跳过")
            )
            kept.append(row)
            continue
        adapter.clean(row, ctx)
        if where and not _matches_where(adapter, row, where):
            left_out += 1
            continue
        row.fingerprint = fingerprint(adapter.key, row.raw)
        if row.refusals:
            row.action = RowAction.REJECT
            row.errors.extend(row.refusals)
        if not row.action:
            first = seen_prints.get(row.fingerprint)
            if first is not None:
                row.action = RowAction.SKIP
                row.messages.append(_("与第 %d 行内容完全相同，跳过") % first)
            else:
                seen_prints[row.fingerprint] = row.number
        kept.append(row)
    prints = [r.fingerprint for r in kept if not r.action]
    if prints:
        earlier = (
            ImportRow.objects.filter(
                fingerprint__in=prints,
                phase=RowPhase.RUN,
                action__in=WRITING_ACTIONS,
                undone=False,
                batch__entity=adapter.key,
            )
            .exclude(batch_id=batch.pk)
            .values_list("fingerprint", "batch_id", "row")
        )
        done = {fp: (b, n) for fp, b, n in earlier}
        for row in kept:
            if not row.action and row.fingerprint in done:
                b, n = done[row.fingerprint]
                row.action = RowAction.SKIP
                row.messages.append(_("已在批次 #%(b)d 第 %(n)d 行导入过，跳过") % {"b": b, "n": n})
    adapter.decide(kept, ctx)
    for row in kept:
        if not row.action:  # an adapter that left a row undecided: never silently
            row.reject(_("无法处理该行"))
    return kept, left_out


def _import_rows(batch: ImportBatch, rows: list[Row], phase: str) -> list[ImportRow]:
    out = []
    for row in rows:
        out.append(
            ImportRow(
                batch=batch,
                phase=phase,
                row=row.number,
                action=row.action,
                values=_json(row.values),
                messages=[*row.errors, *row.messages, *row.notes][:50],
                fingerprint=row.fingerprint or "-",
                target_id=row.target_id,
                created=row.created,
                changed=_json(row.changed),
                candidates=row.candidates[:5],
            )
        )
    return out


def _count(summary: dict[str, int], rows: list[Row]) -> None:
    for row in rows:
        summary["rows"] += 1
        summary[SUMMARY_KEYS[RowAction(row.action)]] += 1


def import_execute(
    batch_id: int,
    *,
    dry_run: bool,
    resume: bool = False,
    progress: Callable[[ImportBatch], None] | None = None,
) -> ImportBatch:
    """Run (or dry-run) a batch to the end. Called by the worker task and the CLI.

    Permissions are the batch creator's: the actor is `batch.created_by`."""
    with transaction.atomic():
        batch = (
            ImportBatch.objects.select_for_update().select_related("created_by").get(pk=batch_id)
        )
        # Only a queued batch runs: a task delivered twice finds it running and stops.
        expected = (BatchStatus.CHECKING,) if dry_run else (BatchStatus.QUEUED,)
        if batch.status not in expected:
            raise ValidationFailed(
                _("批次状态为「%s」，不能执行") % batch.get_status_display(), field="status"
            )
        if not dry_run:
            batch.status = BatchStatus.RUNNING
            batch.started_at = batch.started_at or timezone.now()
        batch.heartbeat_at = timezone.now()
        batch.error = ""
        batch.save(update_fields=["status", "started_at", "heartbeat_at", "error", "updated_at"])
    actor = batch.created_by
    adapter = adapter_get(batch.entity)
    phase = RowPhase.DRY if dry_run else RowPhase.RUN
    ctx = _context(batch, actor, dry_run=dry_run)
    try:
        if not adapter.may_import(actor):
            raise PermissionDenied(_("导入人已没有导入权限"))
        table = batch_table(batch)
        after = batch.last_row if (resume and not dry_run) else 0
        if dry_run or not resume:
            ImportRow.objects.filter(batch=batch, phase=phase).delete()
            summary = summary_empty()
            processed = 0
            left_out = 0
        else:
            summary = _summary_of(batch, phase)
            processed = summary["rows"]
            left_out = int(batch.summary.get("left_out") or 0)
        if not dry_run:
            ImportRow.objects.filter(batch=batch, phase=RowPhase.DRY).delete()
        for rows in _chunks(batch_rows(batch, table, after=after), CHUNK):
            kept, out = process_chunk(adapter, batch, rows, ctx)
            left_out += out
            processed += len(kept)
            if dry_run:
                _count(summary, kept)
                ImportRow.objects.bulk_create(_import_rows(batch, kept, phase), batch_size=500)
                ImportBatch.objects.filter(pk=batch.pk).update(
                    processed_rows=processed + left_out,
                    heartbeat_at=timezone.now(),
                    dry_run_summary={**summary, "left_out": left_out},
                )
            else:
                with transaction.atomic():
                    adapter.write(kept, ctx)
                    _count(summary, kept)  # after writing: a service may have refused a row
                    ImportRow.objects.bulk_create(_import_rows(batch, kept, phase), batch_size=500)
                    ImportBatch.objects.filter(pk=batch.pk).update(
                        processed_rows=processed + left_out,
                        last_row=rows[-1].number,
                        heartbeat_at=timezone.now(),
                        summary={**summary, "left_out": left_out},
                    )
            if progress is not None:
                batch.refresh_from_db()
                progress(batch)
        batch.refresh_from_db()
        batch.total_rows = summary["rows"]
        if dry_run:
            batch.status = BatchStatus.CHECKED
            batch.dry_run_summary = {**summary, "left_out": left_out}
        else:
            batch.status = BatchStatus.DONE
            batch.summary = {**summary, "left_out": left_out}
            batch.finished_at = timezone.now()
        batch.processed_rows = batch.source_rows
        batch.save()
        if not dry_run:
            audit_record(
                action="update",
                actor=actor,
                entity="import_batch",
                object_id=batch.pk,
                object_repr=batch.file_name,
                changes={"status": batch.status, "summary": batch.summary},
            )
        return batch
    except Exception as exc:
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        log.exception("import batch %s failed", batch_id)
        ImportBatch.objects.filter(pk=batch_id).update(
            status=BatchStatus.UPLOADED if dry_run else BatchStatus.FAILED,
            error=str(message)[:2000],
            finished_at=None if dry_run else timezone.now(),
        )
        raise


def _summary_of(batch: ImportBatch, phase: str) -> dict[str, int]:
    summary = summary_empty()
    for action, n in (
        ImportRow.objects.filter(batch=batch, phase=phase)
        .values_list("action")
        .annotate(n=Count("id"))
    ):
        summary[SUMMARY_KEYS[RowAction(action)]] += n
        summary["rows"] += n
    return summary


# ---------------------------------------------------------------- starting phases


def _enqueue(fn: Callable[[], Any]) -> None:
    transaction.on_commit(fn)


@transaction.atomic
def import_dry_run(*, actor: Any, batch: ImportBatch, background: bool = True) -> ImportBatch:
    """Check every row without writing anything: the report says what a run would do."""
    batch_owner_check(actor, batch)
    _adapter_for(actor, batch.entity)
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKED):
        raise ValidationFailed(_("该批次已开始导入，不能再试运行"), field="status")
    _required_check(adapter_get(batch.entity), batch.mapping, adapter_get(batch.entity).field_map())
    batch.status = BatchStatus.CHECKING
    batch.processed_rows = 0
    batch.error = ""
    batch.save(update_fields=["status", "processed_rows", "error", "updated_at"])
    if background:
        from crm.imports.tasks import import_task

        _enqueue(lambda: import_task.enqueue(batch.pk, "dry"))
    return batch


@transaction.atomic
def import_start(*, actor: Any, batch: ImportBatch, background: bool = True) -> ImportBatch:
    """Queue the real import. The dry run is recommended, not required (the CLI runs
    straight away)."""
    batch_owner_check(actor, batch)
    _adapter_for(actor, batch.entity)
    if batch.dry_run_only:
        raise ValidationFailed(
            _("这是只做检查的批次（--dry-run），请重新上传文件后导入"), field="status"
        )
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKED):
        raise ValidationFailed(
            _("批次状态为「%s」，不能开始导入") % batch.get_status_display(), field="status"
        )
    _required_check(adapter_get(batch.entity), batch.mapping, adapter_get(batch.entity).field_map())
    batch.status = BatchStatus.QUEUED
    batch.processed_rows = 0
    batch.last_row = 0
    batch.error = ""
    batch.save(update_fields=["status", "processed_rows", "last_row", "error", "updated_at"])
    if background:
        from crm.imports.tasks import import_task

        _enqueue(lambda: import_task.enqueue(batch.pk, "run"))
    return batch


def batch_is_stale(batch: ImportBatch, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    beat = batch.heartbeat_at or batch.updated_at
    return batch.status == BatchStatus.RUNNING and (beat is None or now - beat > STALE_AFTER)


@transaction.atomic
def import_resume(*, actor: Any, batch: ImportBatch, background: bool = True) -> ImportBatch:
    """Continue a batch that stopped (failed, or a worker that died) after its last
    committed chunk."""
    batch_owner_check(actor, batch)
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if not (locked.status == BatchStatus.FAILED or batch_is_stale(locked)):
        raise ValidationFailed(_("只有中断的导入可以继续"), field="status")
    locked.status = BatchStatus.QUEUED
    locked.error = ""
    locked.save(update_fields=["status", "error", "updated_at"])
    if background:
        from crm.imports.tasks import import_task

        _enqueue(lambda: import_task.enqueue(locked.pk, "resume"))
    return locked


# ---------------------------------------------------------------- rollback


@transaction.atomic
def import_rollback(*, actor: Any, batch: ImportBatch, background: bool = True) -> ImportBatch:
    """Undo a batch: records it created go to the recycle bin, changed fields go back to
    what they were (unless changed again since; those are listed)."""
    batch_owner_check(actor, batch)
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status not in (BatchStatus.DONE, BatchStatus.FAILED) and not batch_is_stale(locked):
        raise ValidationFailed(
            _("批次状态为「%s」，不能回滚") % locked.get_status_display(), field="status"
        )
    locked.status = BatchStatus.ROLLING_BACK
    locked.rolled_back_by = actor
    locked.processed_rows = 0
    locked.save(update_fields=["status", "rolled_back_by", "processed_rows", "updated_at"])
    if background:
        from crm.imports.tasks import import_rollback_task

        _enqueue(lambda: import_rollback_task.enqueue(locked.pk))
    return locked


def import_rollback_execute(batch_id: int) -> ImportBatch:
    batch = ImportBatch.objects.select_related("rolled_back_by", "created_by").get(pk=batch_id)
    if batch.status != BatchStatus.ROLLING_BACK:
        raise ValidationFailed(_("批次不在回滚中"), field="status")
    actor = batch.rolled_back_by or batch.created_by
    adapter = adapter_get(batch.entity)
    rows = ImportRow.objects.filter(
        batch=batch, phase=RowPhase.RUN, undone=False, action__in=WRITING_ACTIONS
    )
    total = rows.count()
    ImportBatch.objects.filter(pk=batch.pk).update(total_rows=total)
    problems: list[str] = []
    undone = failed = 0
    ids = list(rows.order_by("-row").values_list("pk", flat=True))
    for start in range(0, len(ids), 200):
        part = list(ImportRow.objects.filter(pk__in=ids[start : start + 200]).order_by("-row"))
        with transaction.atomic():
            done: list[int] = []
            for row in part:
                try:
                    with transaction.atomic():
                        problems.extend(adapter.rollback(row, actor))
                except DomainError as exc:
                    failed += 1
                    problems.append(
                        _("第 %(r)d 行未能回滚：%(e)s") % {"r": row.row, "e": exc.message}
                    )
                    continue
                done.append(row.pk)
            ImportRow.objects.filter(pk__in=done).update(undone=True)
            undone += len(done)
            ImportBatch.objects.filter(pk=batch.pk).update(
                processed_rows=undone + failed, heartbeat_at=timezone.now()
            )
    batch.refresh_from_db()
    batch.status = BatchStatus.ROLLED_BACK
    batch.rolled_back_at = timezone.now()
    batch.rollback_summary = {"undone": undone, "failed": failed, "problems": problems[:500]}
    batch.save()
    audit_record(
        action="update",
        actor=actor,
        entity="import_batch",
        object_id=batch.pk,
        object_repr=batch.file_name,
        changes={"rolled_back": True, "undone": undone, "failed": failed},
    )
    return batch


# ---------------------------------------------------------------- settings


@transaction.atomic
def import_settings_update(*, actor: Any, values: dict[str, Any]) -> dict[str, Any]:
    from crm.core.config import setting_set

    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改导入设置"))
    current = config.import_settings()
    clean: dict[str, Any] = dict(current)
    bounds = {
        "max_file_mb": (1, 500),
        "max_rows": (10, 1_000_000),
        "max_cell_chars": (100, 100_000),
    }
    for key, (low, high) in bounds.items():
        if key in values:
            try:
                number = int(values[key])
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(_("必须是整数"), field=key) from exc
            if not low <= number <= high:
                raise ValidationFailed(
                    _("必须在 %(a)s 到 %(b)s 之间") % {"a": f"{low:,}", "b": f"{high:,}"}, field=key
                )
            clean[key] = number
    if "fuzzy_threshold" in values:
        try:
            threshold = int(values["fuzzy_threshold"])
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("必须是整数"), field="fuzzy_threshold") from exc
        if not 50 <= threshold <= 100:
            raise ValidationFailed(_("必须在 50 到 100 之间"), field="fuzzy_threshold")
        clean["fuzzy_threshold"] = threshold
    if "company_suffix" in values:
        if values["company_suffix"] not in {k for k, _l in config.SUFFIX_POLICIES}:
            raise ValidationFailed(_("未知的后缀规则"), field="company_suffix")
        clean["company_suffix"] = values["company_suffix"]
    if "rules" in values:
        rules = values["rules"] or {}
        clean["rules"] = {key: bool(rules.get(key, False)) for key, _l, _h in config.RULES}
    if "extra_titles" in values:
        titles = values["extra_titles"]
        if isinstance(titles, str):
            titles = re.split(r"[\s,，、]+", titles)
        titles = [str(t).strip() for t in titles if str(t).strip()]
        if any(len(t) > 5 for t in titles) or len(titles) > 50:
            raise ValidationFailed(_("称谓每个不超过 5 个字，最多 50 个"), field="extra_titles")
        clean["extra_titles"] = list(dict.fromkeys(titles))
    setting_set(actor=actor, key=config.SETTINGS, value=clean)
    return config.import_settings()


def report_json_dump(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1, default=str)


# ---------------------------------------------------------------- telling the user


def import_notify(batch_id: int, phase: str, *, failed: bool = False) -> None:
    """A notification when work that ran in the background ends (the user may have left the
    page): dry run checked, import done or stopped, rollback done."""
    from django.urls import reverse

    from crm.notifications.services import notify

    batch = ImportBatch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None:
        return
    s = batch.dry_run_summary if phase == "dry" else batch.summary
    if failed:
        title = _("导入中断：%s") % batch.file_name
        body = batch.error[:300]
    elif phase == "rollback":
        title = _("已回滚：%s") % batch.file_name
        body = _("撤销了 %d 行的写入") % int((batch.rollback_summary or {}).get("undone") or 0)
    else:
        title = (_("试运行完成：%s") if phase == "dry" else _("导入完成：%s")) % batch.file_name
        body = _("新建 %(c)d，合并/更新 %(m)d，疑似重复 %(d)d，拒绝 %(r)d") % {
            "c": int(s.get("created") or 0),
            "m": int(s.get("merged") or 0) + int(s.get("updated") or 0),
            "d": int(s.get("duplicates") or 0),
            "r": int(s.get("rejected") or 0),
        }
    notify(
        user=batch.created_by,
        kind="import_done",
        title=title[:200],
        body=str(body),
        url=reverse("import_detail", args=[batch.pk]),
        dedupe_key=f"import:{batch.pk}:{phase}:{'failed' if failed else 'done'}:{batch.updated_at.timestamp()}",
    )
