"""Exports over the API: the same rules as the 导出 button of the list pages.

GET /exports/{entity}?format=xlsx|csv&<the list's filters> answers with the file (200), or,
above the streaming limit, with the queued job (202) to poll at /export-jobs/{id} and fetch
from /export-jobs/{id}/file. Without the "export" action: 403; unknown list: 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, Query, Router, Schema, Status

from crm.core.apiutils import ERRORS, Id, Text
from crm.exports.models import ExportJob
from crm.exports.responses import export_response
from crm.exports.selectors import export_job_get, export_jobs
from crm.exports.services import export_job_file, export_start

router = Router(tags=["exports"])

FILE_CONTENT = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
}


class ExportJobOut(Schema):
    id: int
    entity: str
    format: str
    status: str
    rows: int
    expected_rows: int
    file_name: str
    size: int
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    download: str | None = Field(None, description="完成后下载文件的地址")


def _job_out(job: ExportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "entity": job.entity,
        "format": job.format,
        "status": job.status,
        "rows": job.rows,
        "expected_rows": job.expected_rows,
        "file_name": job.file_name,
        "size": job.size,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "download": f"/api/v1/export-jobs/{job.pk}/file" if job.status == "done" else None,
    }


class ExportParams(Schema):
    """Plus the list's own filters (the same query parameters as its page or list endpoint)."""

    format: Text = Field("xlsx", max_length=10, description="xlsx 或 csv", pattern="^(xlsx|csv)$")


@router.get(
    "/exports/{entity}",
    response={200: None, 202: ExportJobOut, **ERRORS},
    openapi_extra={"responses": {"200": {"description": "导出的文件", "content": FILE_CONTENT}}},
)
def export_list(request: HttpRequest, entity: Text, params: Query[ExportParams]) -> Any:
    """Export a list (customer, contact, followup, task, …) with the caller's filters."""
    started = export_start(actor=request.user, entity=entity, fmt=params.format, query=request.GET)
    if started.job is not None:
        return Status(202, _job_out(started.job))
    assert started.stream is not None
    response: HttpResponseBase = export_response(started.stream, rows=started.count)
    return response


@router.get("/export-jobs", response={200: list[ExportJobOut], **ERRORS})
def export_job_list(request: HttpRequest) -> Any:
    """The caller's background exports, newest first (the last 50)."""
    return [_job_out(j) for j in export_jobs(actor=request.user)]


@router.get("/export-jobs/{job_id}", response={200: ExportJobOut, **ERRORS})
def export_job_detail(request: HttpRequest, job_id: Id) -> Any:
    return _job_out(export_job_get(actor=request.user, job_id=job_id))


@router.get(
    "/export-jobs/{job_id}/file",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {"200": {"description": "导出的文件", "content": FILE_CONTENT}}},
)
def export_job_download(request: HttpRequest, job_id: Id) -> Any:
    job = export_job_get(actor=request.user, job_id=job_id)
    path = export_job_file(job)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=job.file_name)
