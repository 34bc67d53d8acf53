"""Exports: the permission check, field security on every cell, the audit entry, and the
choice between streaming the file now and preparing it in the worker.

The rules are the same whoever asks (the list page, the API, the worker): `export_start`
checks the "export" action, counts the rows the actor's filters select, and either returns
an ExportStream (small lists, streamed without holding the rows) or queues an ExportJob
(more than `sync_limit()` rows) that `export_job_run` writes to a file in the data
directory and announces with a notification.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import field_level, mask_value
from crm.access.models import FieldAccess
from crm.access.registry import entity_exists, entity_get
from crm.access.visibility import require
from crm.audit.services import audit_record
from crm.core.errors import NotFound, ValidationFailed
from crm.exports.models import ExportFormat, ExportJob, ExportStatus
from crm.exports.registry import Column, ExportSpec, export_get
from crm.exports.writers import csv_stream, xlsx_write

log = logging.getLogger("crm.exports")

BATCH = 1000
# Query-string keys that are not filters.
NOT_FILTERS = frozenset({"format", "cursor", "page", "csrfmiddlewaretoken", "limit"})
MAX_PARAMS = 60
MAX_VALUE = 200
KEEP_DAYS = 7


def sync_limit() -> int:
    """Above this many rows an export goes to the worker (settings.CRM_EXPORT_SYNC_ROWS)."""
    return int(getattr(settings, "CRM_EXPORT_SYNC_ROWS", 5000))


def exports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ----------------------------------------------------------------- specs and columns


def export_spec(entity: str) -> ExportSpec:
    spec = export_get(entity)
    if spec is None or not entity_exists(entity):
        raise NotFound()
    return spec


@dataclass(frozen=True)
class BoundColumn:
    """A column as one actor sees it: its header, and whether its values are masked."""

    column: Column
    masked: bool

    @property
    def header(self) -> str:
        return str(self.column.label)

    def cell(self, obj: Any) -> Any:
        value = self.column.raw(obj)
        if self.masked:
            return mask_value(value, self.column.kind or "text")
        if self.column.display is not None and value not in (None, ""):
            return self.column.display(value)
        return value


def export_columns(actor: Any, spec: ExportSpec) -> list[BoundColumn]:
    """The spec's columns through field security: hidden fields are not exported at all."""
    out = []
    for column in spec.columns_for(actor):
        masked = False
        if column.secured is not None:
            entity_key, name = column.secured
            level = field_level(actor, entity_key, name)
            if level == FieldAccess.HIDDEN:
                continue
            masked = level in (FieldAccess.MASKED, FieldAccess.REVEAL)
        out.append(BoundColumn(column, masked))
    return out


def export_values(
    actor: Any, spec: ExportSpec, columns: list[BoundColumn], rows: QuerySet
) -> Iterator[list[Any]]:
    """Cell values row by row, reading the queryset in batches (never all rows at once)."""
    batch: list[Any] = []
    for obj in rows.iterator(chunk_size=BATCH):
        batch.append(obj)
        if len(batch) >= BATCH:
            yield from _batch_values(actor, spec, columns, batch)
            batch = []
    if batch:
        yield from _batch_values(actor, spec, columns, batch)


def _batch_values(
    actor: Any, spec: ExportSpec, columns: list[BoundColumn], batch: list[Any]
) -> Iterator[list[Any]]:
    if spec.prepare is not None:
        spec.prepare(actor, batch)
    for obj in batch:
        yield [c.cell(obj) for c in columns]


# ----------------------------------------------------------------- parameters


def export_params(query: Any) -> dict[str, list[str]]:
    """The list's filters from a query string, as {key: [values]} (empty values dropped)."""
    out: dict[str, list[str]] = {}
    for key in query:
        if key in NOT_FILTERS or len(out) >= MAX_PARAMS:
            continue
        getter = getattr(query, "getlist", None)
        values = getter(key) if getter else [query[key]]
        if not isinstance(values, list):
            values = [values]
        kept = [str(v)[:MAX_VALUE] for v in values if v not in (None, "")]
        if kept:
            out[str(key)[:MAX_VALUE]] = kept
    return out


def params_query(params: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, [str(v) for v in values])
    return query


def _filters_for_audit(params: dict[str, list[str]]) -> dict[str, Any]:
    return {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}


def _format(fmt: Any) -> str:
    value = str(fmt or ExportFormat.XLSX).lower()
    if value not in ExportFormat.values:
        raise ValidationFailed(_("导出格式只能是 xlsx 或 csv"), field="format")
    return value


def export_file_name(spec: ExportSpec, fmt: str, at: dt.datetime | None = None) -> str:
    moment = timezone.localtime(at or timezone.now())
    return f"{spec.label}-{moment:%Y%m%d-%H%M}.{fmt}"


# ----------------------------------------------------------------- starting an export


@dataclass
class ExportStream:
    """A small export, ready to be written while it is sent."""

    spec: ExportSpec
    fmt: str
    file_name: str
    columns: list[BoundColumn]
    actor: Any
    rows: QuerySet

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def values(self) -> Iterator[list[Any]]:
        return export_values(self.actor, self.spec, self.columns, self.rows)

    def csv_chunks(self) -> Iterator[bytes]:
        return csv_stream(self.headers, self.values())

    def write_xlsx(self, target: Any) -> None:
        xlsx_write(target, title=self.spec.label, headers=self.headers, rows=self.values())


@dataclass
class ExportStarted:
    count: int
    stream: ExportStream | None = None
    job: ExportJob | None = None


def _spec_rows(actor: Any, spec: ExportSpec, params: dict[str, list[str]]) -> QuerySet:
    return spec.rows(actor, params_query(params))


def export_start(*, actor: Any, entity: str, fmt: Any, query: Any) -> ExportStarted:
    """Check, count, then stream (small) or queue (big). Raises NotFound for an unknown
    list, PermissionDenied without the "export" action, ValidationFailed for a bad format.

    Only the writes (the job, the audit entry) run in a transaction: on SQLite a transaction
    takes the write lock at BEGIN, and counting a large list must not hold it."""
    spec = export_spec(entity)
    require(actor, "export", entity_get(entity).model)
    fmt = _format(fmt)
    params = export_params(query)
    rows = _spec_rows(actor, spec, params)
    count = rows.count()
    if count > sync_limit():
        from crm.exports.tasks import export_job_run_task

        with transaction.atomic():
            job = ExportJob.objects.create(
                user=actor,
                entity=entity,
                format=fmt,
                params=params,
                expected_rows=count,
                file_name=export_file_name(spec, fmt),
            )
            job_id = job.pk
            transaction.on_commit(lambda: export_job_run_task.enqueue(job_id))
        return ExportStarted(count=count, job=job)
    columns = export_columns(actor, spec)
    _audit(actor, spec, fmt, params, count, columns)  # audit_record is atomic itself
    stream = ExportStream(
        spec=spec,
        fmt=fmt,
        file_name=export_file_name(spec, fmt),
        columns=columns,
        actor=actor,
        rows=rows,
    )
    return ExportStarted(count=count, stream=stream)


def _audit(
    actor: Any,
    spec: ExportSpec,
    fmt: str,
    params: dict[str, list[str]],
    count: int,
    columns: list[BoundColumn],
    job: ExportJob | None = None,
) -> None:
    changes: dict[str, Any] = {
        "format": fmt,
        "filters": _filters_for_audit(params),
        "rows": count,
        "columns": [c.column.key for c in columns],
        "masked": [c.column.key for c in columns if c.masked],
    }
    if job is not None:
        changes["job"] = job.pk
    audit_record(
        action="export",
        actor=actor,
        entity=spec.entity,
        object_id=job.pk if job is not None else "",
        object_repr=str(spec.label),
        changes=changes,
    )


# ----------------------------------------------------------------- background exports


class _Counted:
    def __init__(self, rows: Iterator[list[Any]]) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self.rows:
            self.n += 1
            yield row


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write a queued export's file (the worker). Idempotent: a finished job is left alone."""
    from crm.exports import events

    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("user").filter(pk=job_id).first()
        if job is None or job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return job
        job.status = ExportStatus.RUNNING
        job.save(update_fields=["status"])
    actor = job.user
    tmp: Path | None = None
    try:
        # Rights may have changed since the export was asked for: check them again.
        spec = export_spec(job.entity)
        require(actor, "export", entity_get(job.entity).model)
        if not actor.is_active:
            raise NotFound()
        columns = export_columns(actor, spec)
        rows = _Counted(
            export_values(actor, spec, columns, _spec_rows(actor, spec, job.params or {}))
        )
        name = f"{job.pk}-{secrets.token_hex(8)}.{job.format}"
        final = exports_dir() / name
        tmp = final.with_name(f".{name}.partial")
        headers = [c.header for c in columns]
        if job.format == ExportFormat.CSV:
            with open(tmp, "wb") as fh:
                for chunk in csv_stream(headers, rows):
                    fh.write(chunk)
        else:
            xlsx_write(str(tmp), title=spec.label, headers=headers, rows=rows)
        os.replace(tmp, final)
        tmp = None
        with transaction.atomic():
            job.status = ExportStatus.DONE
            job.rows = rows.n
            job.file_path = name
            job.size = final.stat().st_size
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "rows", "file_path", "size", "finished_at"])
            _audit(actor, spec, job.format, job.params or {}, rows.n, columns, job=job)
            events.export_ready(job)
    except Exception as exc:
        log.exception("export job %s failed", job_id)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        message = getattr(exc, "message", "") or type(exc).__name__
        with transaction.atomic():
            job.status = ExportStatus.FAILED
            job.error = str(message)[:500]
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            events.export_failed(job)
    return job


def export_job_file(job: ExportJob) -> Path:
    """The finished file of a job the caller has already fetched through a selector."""
    if job.status != ExportStatus.DONE or not job.file_path:
        raise NotFound()
    path = exports_dir() / Path(job.file_path).name
    if not path.is_file():
        raise NotFound()
    return path


def exports_prune(*, now: dt.datetime | None = None, days: int = KEEP_DAYS) -> int:
    """Remove files of exports older than `days` (the row stays, marked expired)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    n = 0
    old = ExportJob.objects.filter(
        status__in=[ExportStatus.DONE, ExportStatus.FAILED], created_at__lt=cutoff
    )
    for job in old.iterator():
        if job.file_path:
            (exports_dir() / Path(job.file_path).name).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED, file_path="")
        n += 1
    # Files of a crashed run (".partial") are useless after a day.
    for stray in exports_dir().glob(".*.partial"):
        age = (now or timezone.now()).timestamp() - stray.stat().st_mtime
        if age > 86400:
            stray.unlink(missing_ok=True)
    return n
