"""API of imports: /api/v1/imports — upload, map, dry run, run, report, rollback.

The same engine as the wizard and `crm import`: a batch is uploaded (multipart), mapped
(column index → field key; the upload answers with a suggested mapping), checked with a
dry run, run, and rolled back as a whole. Dry runs, runs and rollbacks go to the worker: the
endpoints answer 202 with the batch, whose `status` and `progress` the client polls.
Batches of other users answer 404; importing without the "import" right on the entity, 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from crm.core.apiutils import ERRORS, Id, ListParams, PageOut, Text, page_out, paginate_api
from crm.core.errors import ValidationFailed
from crm.imports import selectors, services
from crm.imports.models import ImportBatch

router = Router(tags=["imports"])


class FieldOut(Schema):
    key: str
    label: str
    required: bool
    help: str = ""


class EntityOut(Schema):
    key: str
    label: str
    fields: list[FieldOut]


class BatchOut(Schema):
    id: int
    entity: str
    status: str
    status_label: str
    file_name: str
    file_format: str
    encoding: str
    migration: str
    headers: list[str]
    mapping: dict[str, str] = Field(description="列序号（从 0 开始）→ 字段键；空串 = 不导入")
    mapping_sources: dict[str, str] = Field(description="每列自动映射的依据")
    mode: str
    where: list[str]
    messages: list[str]
    source_rows: int
    progress: int = Field(description="当前阶段的进度（%）")
    processed_rows: int
    dry_run_only: bool
    dry_run_summary: dict[str, int]
    summary: dict[str, int]
    rollback_summary: dict[str, Any]
    error: str
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    rolled_back_at: dt.datetime | None = None


def _batch_out(batch: ImportBatch) -> dict[str, Any]:
    options = batch.options or {}
    return {
        "id": batch.pk,
        "entity": batch.entity,
        "status": batch.status,
        "status_label": batch.get_status_display(),
        "file_name": batch.file_name,
        "file_format": batch.file_format,
        "encoding": batch.encoding,
        "migration": batch.migration,
        "headers": batch.headers,
        "mapping": batch.mapping,
        "mapping_sources": options.get("sources") or {},
        "mode": options.get("mode") or "merge",
        "where": [f"{w['label']}={','.join(w['values'])}" for w in options.get("where") or []],
        "messages": list(batch.file_messages or []),
        "source_rows": batch.source_rows,
        "progress": batch.progress,
        "processed_rows": batch.processed_rows,
        "dry_run_only": batch.dry_run_only,
        "dry_run_summary": {k: int(v) for k, v in (batch.dry_run_summary or {}).items()},
        "summary": {k: int(v) for k, v in (batch.summary or {}).items()},
        "rollback_summary": batch.rollback_summary or {},
        "error": batch.error,
        "created_by": batch.created_by.name,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "rolled_back_at": batch.rolled_back_at,
    }


@router.get("/imports/entities", response={200: list[EntityOut], **ERRORS})
def import_entities(request: HttpRequest) -> list[dict[str, Any]]:
    """What the caller may import, and the fields columns can be mapped to."""
    return [
        {
            "key": a.key,
            "label": str(a.label),
            "fields": [
                {
                    "key": f.key,
                    "label": str(f.label),
                    "required": f.required,
                    "help": str(f.help or ""),
                }
                for f in a.fields()
            ],
        }
        for a in selectors.import_entities(actor=request.user)
    ]


class TemplateOut(Schema):
    id: int
    entity: str
    name: str
    mapping: dict[str, str] = Field(description="列名 → 字段键")
    shared: bool


@router.get("/imports/templates", response={200: list[TemplateOut], **ERRORS})
def import_templates(request: HttpRequest, entity: Text) -> list[Any]:
    return list(selectors.mapping_templates(actor=request.user, entity=entity))


@router.delete("/imports/templates/{template_id}", response={204: None, **ERRORS})
def import_template_delete(request: HttpRequest, template_id: Id) -> Status:
    services.mapping_template_delete(actor=request.user, template_id=template_id)
    return Status(204, None)


class UploadIn(Schema):
    entity: Text = Field(
        max_length=30, description="customer、contact、followup（及 lead、opportunity）"
    )
    migration: Text = Field("", max_length=100, description="分阶段迁移的名称（对账报告按它汇总）")
    mode: Literal["merge", "update", "skip"] = Field(
        "merge", description="已存在的记录：merge 只补空白字段；update 覆盖；skip 不动"
    )
    template_id: Id | None = Field(None, description="按映射模板映射列")


@router.post("/imports", response={201: BatchOut, **ERRORS})
def import_upload(
    request: HttpRequest, payload: Form[UploadIn], file: File[UploadedFile]
) -> Status:
    """Upload a file (multipart: `file` plus the form fields). The file is checked (format by
    content, encoding, size, rows, zip bombs…) and stored as a batch with a suggested mapping;
    a file that cannot be imported is a 422 on `file` saying why."""
    actor = request.user
    template = None
    if payload.template_id:
        template = selectors.mapping_template_get(actor=actor, template_id=payload.template_id)
    services.upload_size_check(file.size or 0)
    data = file.read()
    batch = services.import_upload(
        actor=actor,
        entity=payload.entity,
        file_name=file.name or "upload",
        data=data,
        migration=payload.migration,
        template=template,
        mode=payload.mode,
    )
    return Status(201, _batch_out(batch))


class BatchFilters(ListParams):
    migration: Text | None = Field(None, max_length=100)


@router.get("/imports", response={200: PageOut[BatchOut], **ERRORS})
def import_list(request: HttpRequest, filters: Query[BatchFilters]) -> dict:
    """The caller's batches (a manager also sees the team's), newest first."""
    qs = selectors.import_batches(actor=request.user, migration=filters.migration)
    page = paginate_api(qs, ordering=("-id",), cursor=filters.cursor, limit=filters.limit)
    return page_out(page, _batch_out)


@router.get("/imports/{batch_id}", response={200: BatchOut, **ERRORS})
def import_detail(request: HttpRequest, batch_id: Id) -> dict:
    return _batch_out(selectors.import_batch_get(actor=request.user, batch_id=batch_id))


class MappingIn(Schema):
    mapping: dict[Text, Text] = Field(
        description="列序号 → 字段键（见 GET /imports/entities）；空串 = 不导入"
    )
    mode: Literal["merge", "update", "skip"] | None = None
    where: list[Text] | None = Field(
        None, description='分阶段导入：["level=A", "province=浙江,江苏"]'
    )
    new_custom: dict[Text, Text] | None = Field(
        None, description="列序号 → 新自定义字段名称（管理员）：把未知列保存为自定义字段"
    )
    template_name: Text = Field("", max_length=100, description="同时保存为映射模板")
    template_shared: bool = False


@router.put("/imports/{batch_id}/mapping", response={200: BatchOut, **ERRORS})
def import_mapping(request: HttpRequest, batch_id: Id, payload: MappingIn) -> dict:
    actor = request.user
    batch = selectors.import_batch_get(actor=actor, batch_id=batch_id)
    batch = services.import_mapping_set(
        actor=actor,
        batch=batch,
        mapping=payload.mapping,
        mode=payload.mode,
        where=payload.where,
        new_custom=payload.new_custom,
        template_name=payload.template_name,
        template_shared=payload.template_shared,
    )
    return _batch_out(batch)


def _phase_call(request: HttpRequest, batch_id: int, fn: Any) -> Status:
    actor = request.user
    batch = selectors.import_batch_get(actor=actor, batch_id=batch_id)
    fn(actor=actor, batch=batch)
    return Status(202, _batch_out(selectors.import_batch_get(actor=actor, batch_id=batch_id)))


@router.post("/imports/{batch_id}/dry-run", response={202: BatchOut, **ERRORS})
def import_dry_run(request: HttpRequest, batch_id: Id) -> Status:
    """Check every row, write nothing; then GET …/report?phase=dry."""
    return _phase_call(request, batch_id, services.import_dry_run)


@router.post("/imports/{batch_id}/run", response={202: BatchOut, **ERRORS})
def import_run(request: HttpRequest, batch_id: Id) -> Status:
    """Import the batch in the worker; poll GET /imports/{id} for `status` and `progress`."""
    return _phase_call(request, batch_id, services.import_start)


@router.post("/imports/{batch_id}/resume", response={202: BatchOut, **ERRORS})
def import_resume(request: HttpRequest, batch_id: Id) -> Status:
    """Continue a batch that stopped (failed or its worker died) after its last chunk."""
    return _phase_call(request, batch_id, services.import_resume)


@router.post("/imports/{batch_id}/rollback", response={202: BatchOut, **ERRORS})
def import_rollback(request: HttpRequest, batch_id: Id) -> Status:
    """Undo the batch: created records to the recycle bin, changed fields reverted."""
    return _phase_call(request, batch_id, services.import_rollback)


class ReportQuery(Schema):
    phase: Literal["dry", "run"] | None = Field(None, description="默认：已导入则为 run，否则 dry")
    action: Literal["create", "update", "merge", "duplicate", "reject", "skip"] | None = None
    offset: int = Field(0, ge=0, le=10_000_000, description="跳过前 N 行（大批次分段读取）")
    limit: int | None = Field(None, ge=1, le=1_000_000, description="最多返回 N 行；默认全部")


class ReportRowOut(Schema):
    row: int
    action: str
    values: dict[str, Any]
    messages: list[str]
    id: int | None = None
    candidates: list[dict[str, Any]] | None = None


class ReportOut(Schema):
    batch: int
    entity: str
    file: str
    migration: str
    status: str
    dry_run: bool
    source_rows: int
    left_out: int
    where: list[str]
    summary: dict[str, int]
    messages: list[str]
    rows: list[ReportRowOut]


@router.get("/imports/{batch_id}/report", response={200: ReportOut, **ERRORS}, exclude_none=True)
def import_report(request: HttpRequest, batch_id: Id, query: Query[ReportQuery]) -> dict:
    """The report: `summary` {rows, created, updated, merged, duplicates, rejected, skipped}
    and one entry per source row (`row` is the spreadsheet row number) with its `action`, the
    cleaned `values` and the `messages` saying why."""
    batch = selectors.import_batch_get(actor=request.user, batch_id=batch_id)
    report = selectors.import_report(batch=batch, phase=query.phase, action=query.action)
    end = None if query.limit is None else query.offset + query.limit
    report["rows"] = report["rows"][query.offset : end]
    return report


@router.get("/imports/{batch_id}/report.xlsx", response={200: None, **ERRORS})
def import_report_xlsx(
    request: HttpRequest, batch_id: Id, query: Query[ReportQuery]
) -> HttpResponse:
    from crm.imports.report import report_xlsx

    batch = selectors.import_batch_get(actor=request.user, batch_id=batch_id)
    response = HttpResponse(
        report_xlsx(batch, query.phase),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.xlsx"'
    return response


@router.get("/imports/migrations/{label}/reconciliation", response={200: dict[str, Any], **ERRORS})
def import_reconciliation(request: HttpRequest, label: Text) -> dict[str, Any]:
    """Over every batch of a staged migration: source rows, rows taken in, rows no batch has
    taken yet (`not_covered`), and what became of them."""
    if len(label) > 100:
        raise ValidationFailed(_("迁移批次名称不能超过 100 个字符"), field="label")
    return selectors.import_reconciliation(actor=request.user, migration=label)
