"""Helpers for import tests: build files in memory, run batches synchronously."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, merge: list[str] | None = None, sheets: int = 1) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for rng in merge or []:
        ws.merge_cells(rng)
    for i in range(1, sheets):
        wb.create_sheet(f"Sheet{i + 1}").append(["x"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run_import(
    actor: Any,
    entity: str,
    name: str,
    data: bytes,
    *,
    mode: str = "merge",
    mapping: dict[str, str] | None = None,
    where: list[str] | None = None,
    dry_run: bool = False,
    migration: str = "",
) -> Any:
    """Upload, map (automatic unless given), then dry-run or run synchronously."""
    from crm.imports.services import (
        import_dry_run,
        import_execute,
        import_mapping_set,
        import_start,
        import_upload,
    )

    batch = import_upload(
        actor=actor, entity=entity, file_name=name, data=data, mode=mode, migration=migration
    )
    if mapping is not None or where is not None:
        full = dict(batch.mapping)
        if mapping is not None:
            by_header = {h: str(i) for i, h in enumerate(batch.headers)}
            for header, key in mapping.items():
                full[by_header[header]] = key
        batch = import_mapping_set(actor=actor, batch=batch, mapping=full, where=where)
    if dry_run:
        import_dry_run(actor=actor, batch=batch, background=False)
        return import_execute(batch.pk, dry_run=True)
    import_start(actor=actor, batch=batch, background=False)
    return import_execute(batch.pk, dry_run=False)


def report_of(batch: Any) -> dict[str, Any]:
    from crm.imports.selectors import import_report

    return import_report(batch=batch)


def by_row(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["row"]: r for r in report["rows"]}


@pytest.fixture
def admin(org):
    return org.admin


def grant_import(role, entity: str, scope: str = "own") -> None:
    """Give a role the "import" action on an entity (administrators do it in the role editor)."""
    from crm.access.models import RoleGrant
    from crm.access.visibility import clear_cache

    grant = RoleGrant.objects.get(role=role, entity=entity)
    grant.actions = sorted({*grant.actions, "import"})
    grant.save()
    for user in role.users.all():
        clear_cache(user)
