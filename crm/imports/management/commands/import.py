"""`crm import ENTITY FILE [--user USERNAME] [--mapping FILE] [--dry-run] [--report OUT.json]
[--where FIELD=VALUE]`: the import wizard from the command line.

The user's permissions and ownership apply (default: the first administrator). The report
JSON is the same as the API's: {"batch", "summary", "rows": [{"row", "action", "values",
"messages"}]}. `--resume BATCH` continues a batch that stopped."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.core.errors import DomainError
from crm.imports.management.options import actor_for, mapping_load


class Command(BaseCommand):
    help = "Import customers, contacts, follow-ups… from an xlsx, csv or vcf file (a batch)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "entity", nargs="?", help="customer, contact, followup, lead, opportunity"
        )
        parser.add_argument("file", nargs="?", help="the .xlsx, .csv or .vcf file")
        parser.add_argument("--user", help="import as this user (default: the first administrator)")
        parser.add_argument("--mapping", help="JSON file: column header → field key")
        parser.add_argument("--template", help="a saved mapping template (by name)")
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--report", help="write the JSON report to this file")
        parser.add_argument("--report-xlsx", help="write the report as a spreadsheet")
        parser.add_argument(
            "--where",
            action="append",
            default=[],
            help="FIELD=VALUE[,VALUE]: only these rows (staged migration)",
        )
        parser.add_argument(
            "--mode",
            default=None,
            choices=["merge", "update", "skip"],
            help="existing records: merge (fill empty fields, default), update (overwrite), skip",
        )
        parser.add_argument(
            "--migration",
            default="",
            help="label of a staged migration (for its reconciliation report)",
        )
        parser.add_argument(
            "--resume", type=int, metavar="BATCH", help="continue a batch that stopped"
        )

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            self._handle(**o)
        except DomainError as exc:
            detail = (
                "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors)
                or exc.message
            )
            raise CommandError(detail) from exc

    def _progress(self, batch: Any) -> None:
        if self.verbosity >= 1:
            sys.stderr.write(
                f"\r{batch.processed_rows:,}/{batch.source_rows:,} rows ({batch.progress}%)"
            )
            sys.stderr.flush()

    def _handle(self, **o: Any) -> None:
        from crm.imports.models import ImportBatch
        from crm.imports.selectors import import_report, mapping_templates
        from crm.imports.services import (
            import_dry_run,
            import_execute,
            import_mapping_set,
            import_resume,
            import_start,
            import_upload,
        )

        self.verbosity = int(o.get("verbosity", 1))
        actor = actor_for(o.get("user"))
        if o.get("resume"):
            batch = ImportBatch.objects.filter(pk=o["resume"]).first()
            if batch is None:
                raise CommandError(f"no batch {o['resume']}")
            batch = import_resume(actor=actor, batch=batch, background=False)
            batch = import_execute(batch.pk, dry_run=False, resume=True, progress=self._progress)
            self._finish(batch, import_report(batch=batch), o)
            return
        if not o.get("entity") or not o.get("file"):
            raise CommandError("usage: crm import ENTITY FILE [options] (or --resume BATCH)")
        path = Path(o["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        template = None
        if o.get("template"):
            template = (
                mapping_templates(actor=actor, entity=o["entity"])
                .filter(name=o["template"])
                .first()
            )
            if template is None:
                raise CommandError(f"no mapping template {o['template']!r}")
        options: dict[str, Any] = {}
        batch = import_upload(
            actor=actor,
            entity=o["entity"],
            file_name=path.name,
            data=data,
            migration=o.get("migration") or "",
            template=template,
            mode=o.get("mode") or "merge",
            dry_run_only=bool(o.get("dry_run")),
        )
        mapping = dict(batch.mapping)
        if o.get("mapping"):
            custom, options = mapping_load(o["mapping"], batch.headers)
            mapping.update(custom)
        where = list(options.get("where") or []) + list(o.get("where") or [])
        mode = o.get("mode") or options.get("mode")
        batch = import_mapping_set(
            actor=actor, batch=batch, mapping=mapping, mode=mode, where=where
        )
        if batch.dry_run_only:
            import_dry_run(actor=actor, batch=batch, background=False)
            batch = import_execute(batch.pk, dry_run=True, progress=self._progress)
        else:
            import_start(actor=actor, batch=batch, background=False)
            batch = import_execute(batch.pk, dry_run=False, progress=self._progress)
        self._finish(batch, import_report(batch=batch), o)

    def _finish(self, batch: Any, report: dict[str, Any], o: dict[str, Any]) -> None:
        from crm.imports.report import report_xlsx
        from crm.imports.services import report_json_dump

        if self.verbosity >= 1:
            sys.stderr.write("\n")
        if o.get("report"):
            Path(o["report"]).write_text(report_json_dump(report), encoding="utf-8")
        if o.get("report_xlsx"):
            Path(o["report_xlsx"]).write_bytes(report_xlsx(batch))
        s = report["summary"]
        kind = "dry run" if report["dry_run"] else "import"
        self.stdout.write(
            f"batch {batch.pk} ({kind}, {batch.entity}, {batch.status}): {s['rows']} rows — "
            f"created {s['created']}, updated {s['updated']}, merged {s['merged']}, "
            f"duplicates {s['duplicates']}, rejected {s['rejected']}, skipped {s['skipped']}"
            + (f"; {report['left_out']} rows outside --where" if report["left_out"] else "")
        )
        for message in report["messages"]:
            self.stdout.write(f"  {message}")
