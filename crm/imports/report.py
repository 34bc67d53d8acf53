"""The import report as a spreadsheet for people (the JSON report is for programs).

Written with openpyxl in write-only mode (a 100,000-row report stays in bounded memory).
Every value that came from the imported file is written as text, and text starting with
= + - @ (or a tab / carriage return) gets a leading apostrophe: a report must never turn a
cell of someone's file into a formula (CSV/formula injection).
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

from crm.imports.adapters import adapter_get
from crm.imports.models import ImportBatch, RowAction
from crm.imports.selectors import batch_phase, import_rows

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        value = "、".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = "；".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def report_xlsx(batch: ImportBatch, phase: str | None = None) -> bytes:
    import openpyxl

    phase = phase or batch_phase(batch)
    adapter = adapter_get(batch.entity)
    labels = {f.key: str(f.label) for f in adapter.fields()}
    summary = batch.dry_run_summary if phase == "dry" else batch.summary
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(_("汇总"))
    ws.append([_("批次"), batch.pk])
    ws.append([_("文件"), cell_safe(batch.file_name)])
    ws.append([_("导入对象"), str(adapter.label)])
    ws.append([_("类型"), _("试运行") if phase == "dry" else _("导入")])
    ws.append([_("状态"), batch.get_status_display()])
    if batch.migration:
        ws.append([_("迁移批次"), cell_safe(batch.migration)])
    ws.append([])
    names = {
        "rows": _("行数"),
        "created": _("新建"),
        "updated": _("更新"),
        "merged": _("合并"),
        "duplicates": _("疑似重复"),
        "rejected": _("拒绝"),
        "skipped": _("跳过"),
        "left_out": _("不在本阶段（筛选条件之外）"),
    }
    for key, label in names.items():
        ws.append([label, int((summary or {}).get(key) or 0)])
    for message in batch.file_messages or []:
        ws.append([_("说明"), cell_safe(message)])
    keys: list[str] = []
    rows = import_rows(batch=batch, phase=phase)
    for values in rows.values_list("values", flat=True)[:2000]:
        for key in values or {}:
            if key not in keys:
                keys.append(key)
    order = {f.key: i for i, f in enumerate(adapter.fields())}
    keys.sort(key=lambda k: order.get(k, 999))
    detail = wb.create_sheet(_("明细"))
    detail.append(
        [_("行号"), _("处理结果"), _("记录编号"), _("说明"), *[labels.get(k, k) for k in keys]]
    )
    action_labels = dict(RowAction.choices)
    for r in rows.iterator(chunk_size=2000):
        detail.append(
            [
                r.row,
                str(action_labels.get(r.action, r.action)),
                r.target_id or "",
                cell_safe("\n".join(r.messages or [])),
                *[cell_safe((r.values or {}).get(k, "")) for k in keys],
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
