"""HTTP responses for an export, shared by the list pages and the API."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from crm.exports.models import ExportFormat
from crm.exports.services import ExportStream

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An xlsx is a zip written at the end: it is built in a temporary file (in memory up to
# this size) and then sent in chunks; csv is sent while the rows are read.
SPOOL_BYTES = 16 * 1024 * 1024


def export_response(stream: ExportStream, *, rows: int) -> HttpResponseBase:
    response: HttpResponseBase
    if stream.fmt == ExportFormat.CSV:
        response = StreamingHttpResponse(
            stream.csv_chunks(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=stream.file_name
        )
    else:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (FileResponse closes it)
        stream.write_xlsx(spool)
        spool.seek(0)
        response = FileResponse(
            spool, as_attachment=True, filename=stream.file_name, content_type=XLSX_TYPE
        )
    response["X-Export-Rows"] = str(rows)
    response["Cache-Control"] = "no-store"
    return response
