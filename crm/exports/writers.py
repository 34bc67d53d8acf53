"""Cells and files: formula escaping, csv (UTF-8 with BOM) and xlsx (openpyxl write-only).

Both writers take an iterator of rows and never hold more than one batch of them: csv is
produced as a stream of byte chunks, xlsx is written row by row into a (temporary) file.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone

# A spreadsheet treats a text cell starting with one of these as a formula (or, for tab
# and carriage return, as the start of one): "=cmd|' /C calc'!A0", "@SUM(…)", "+1+cmd|…".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The escape is a leading apostrophe (OWASP "CSV injection"): the cell is text, shown as
# written. An importer removes exactly one apostrophe in front of these characters.
ESCAPE = "'"
BOM = "\ufeff"
XLSX_CELL_MAX = 32767  # characters Excel keeps in one cell
CSV_BATCH = 500


def cell_escape(value: str) -> str:
    """'=1+1' → "'=1+1"; other text unchanged."""
    if value.startswith(FORMULA_START):
        return ESCAPE + value
    return value


def cell_value(value: Any) -> Any:
    """A Python value as a cell: local naive datetimes, 是/否, text escaped; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        from django.utils.translation import gettext as _

        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, (dt.date, int, float, Decimal)):
        return value
    if isinstance(value, (list, tuple, set)):
        value = "、".join(str(v) for v in value)
    return cell_escape(str(value))


# ----------------------------------------------------------------- csv


class _Buffer:
    """csv.writer writes into this; the chunk is taken after each batch."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def _csv_text(value: Any) -> str:
    value = cell_value(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_stream(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 with a BOM (Chinese Excel opens it as UTF-8, not GBK), CRLF line ends."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(h) for h in headers])
    yield (BOM + buffer.take()).encode("utf-8")
    pending = 0
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
        pending += 1
        if pending >= CSV_BATCH:
            yield buffer.take().encode("utf-8")
            pending = 0
    rest = buffer.take()
    if rest:
        yield rest.encode("utf-8")


# ----------------------------------------------------------------- xlsx


def _sheet_title(label: Any) -> str:
    title = str(label)
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return title[:31] or "Sheet1"


# Control characters other than tab / line feed / carriage return cannot be stored in xlsx.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_value(value: Any) -> Any:
    value = cell_value(value)
    if isinstance(value, str):
        value = ILLEGAL_XML.sub("", value)[:XLSX_CELL_MAX]
        if value.startswith("="):  # never: cell_value() escapes it; a formula must not slip
            value = ESCAPE + value
    return value


def _width(header: str) -> float:
    # CJK characters are about two Latin characters wide.
    return min(max(sum(2 if ord(c) > 0x2E80 else 1 for c in header) + 4, 10), 40)


def xlsx_write(
    target: IO[bytes] | str, *, title: Any, headers: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> None:
    """Write one sheet: a bold, frozen header row, then the rows (write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    sheet.freeze_panes = "A2"
    texts = [str(h) for h in headers]
    for index, header in enumerate(texts, 1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(header)
    bold = Font(bold=True)
    header_cells = []
    for header in texts:
        cell = WriteOnlyCell(sheet, value=_xlsx_value(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        # Plain values (cells are built by openpyxl): a text starting with "=" would become
        # a formula, but cell_value() has escaped every such text with an apostrophe.
        sheet.append([_xlsx_value(value) for value in row])
    workbook.save(target)
