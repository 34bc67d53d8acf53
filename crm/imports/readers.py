"""Reading an uploaded file into a table of strings: xlsx (python-calamine), csv / tsv in
UTF-8, UTF-8 with BOM, UTF-16 or GB18030 (GBK), and vCard.

The bytes decide what a file is, not its name: a file whose content does not match its
extension is refused with a message saying what it really is. An xlsx is a zip archive; its
entries are checked (count, total uncompressed size, compression ratio) before calamine
opens it, so a zip bomb named .xlsx is refused without being inflated. Every refusal raises
ValidationFailed(field="file") with a message for the person who uploaded the file.

Problems of single cells (a formula, a merged area, a number too long for Excel, a cell
over the length limit) do not stop the file: they are reported on the row (`Table.notes`).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import quopri
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed

# Refusal limits that protect the server; the per-installation limits (rows, file size,
# cell length) come from the import settings (crm.imports.config).
ZIP_MAX_ENTRIES = 5_000
ZIP_MAX_TOTAL = 400 * 1024 * 1024  # inflated size of all entries of an xlsx
ZIP_MAX_RATIO = 200  # an entry inflating more than this is a bomb, not a spreadsheet
ZIP_RATIO_FLOOR = 1024 * 1024  # ... once it inflates to more than 1 MB
MAX_COLUMNS = 300
# Excel keeps 15 significant digits: a longer number (an ID card, a long account number
# typed into a number cell) has already lost its last digits.
EXCEL_DIGITS = 15

FORMATS = ("xlsx", "csv", "vcf")
EXTENSIONS = {
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "csv": "csv",
    "tsv": "csv",
    "txt": "csv",
    "vcf": "vcf",
    "vcard": "vcf",
}


@dataclass
class Table:
    """A file as rows of strings. `rows[i]` is source row `numbers[i]` (spreadsheet row
    number: the header is row 1 in a file that starts with it)."""

    format: str
    encoding: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # source row number → notes about its cells (kept, reported on the row)
    notes: dict[int, list[str]] = field(default_factory=dict)
    # source row number → reasons the row cannot be imported (cell over the limit …)
    refusals: dict[int, list[str]] = field(default_factory=dict)

    def note(self, row: int, message: str) -> None:
        self.notes.setdefault(row, []).append(message)

    def refuse(self, row: int, message: str) -> None:
        self.refusals.setdefault(row, []).append(message)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    max_cell_chars: int = 5_000


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="file")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (how a spreadsheet user finds the column)."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


# ---------------------------------------------------------------- what is this file?


def _kind_of_bytes(data: bytes) -> str:
    """What the first bytes say: zip, ole (old .xls or an encrypted Office file), pdf,
    image, executable, or text."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")) or head[:4] == b"RIFF":
        return "image"
    if head.startswith((b"MZ", b"\x7fELF")):
        return "executable"
    if head.startswith((b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        return "archive"
    return "text"


def _describe(kind: str) -> str:
    return {
        "zip": _("压缩包或 Excel (.xlsx) 文件"),
        "ole": _("旧版 Excel (.xls) 或加密的 Office 文件"),
        "pdf": _("PDF 文件"),
        "image": _("图片"),
        "executable": _("可执行程序"),
        "archive": _("压缩包"),
        "text": _("文本文件"),
    }[kind]


def detect_format(name: str, data: bytes) -> str:
    """The format to read `data` as, or a refusal when the content is not what the name says."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fmt = EXTENSIONS.get(ext)
    if fmt is None:
        raise _fail(
            _("不支持的文件类型「.%(ext)s」：请上传 .xlsx、.csv 或 .vcf 文件") % {"ext": ext[:10]}
        )
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise _fail(_("文件是空的（0 行数据），请检查是否选错了文件"))
    kind = _kind_of_bytes(data)
    if fmt == "xlsx":
        if kind == "ole":
            raise _fail(
                _(
                    "这是旧版 Excel (.xls) 文件或设置了打开密码的文件：请在 Excel/WPS 中"
                    "取消密码并“另存为” .xlsx 后再导入"
                )
            )
        if kind != "zip":
            raise _fail(
                _("文件扩展名是 .%(ext)s，但内容是%(what)s，不是 Excel 表格；请确认文件")
                % {"ext": ext, "what": _describe(kind)}
            )
        return "xlsx"
    if kind != "text":
        raise _fail(
            _("文件扩展名是 .%(ext)s，但内容是%(what)s，不是文本表格；请确认文件")
            % {"ext": ext, "what": _describe(kind)}
        )
    if fmt == "csv" and b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(_("文件含有二进制内容，不是 CSV 文本文件"))
    return fmt


# ---------------------------------------------------------------- cells


# Exports escape text that a spreadsheet would run as a formula with one leading apostrophe
# (crm.exports.writers); reading, exactly that one apostrophe goes again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unescape(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def cell_text(value: Any, *, row: int, col: int, table: Table) -> str:
    """A calamine value as the text a person sees in the cell."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return unescape(value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # NaN / inf: Excel errors
            return ""
        if value.is_integer():
            if abs(value) >= 10**EXCEL_DIGITS:
                table.note(
                    row,
                    _("%(col)s 列的数字有 %(n)d 位，超过 Excel 的 15 位精度，末尾几位可能已丢失")
                    % {"col": column_letter(col), "n": len(str(int(abs(value))))},
                )
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


# ---------------------------------------------------------------- xlsx


def _zip_check(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _fail(_("Excel 文件已损坏或不完整，无法打开；请重新保存后再上传")) from exc
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_ENTRIES:
        raise _fail(_("文件内部条目过多（%(n)d 个），不是正常的 Excel 文件") % {"n": len(infos)})
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_FLOOR and ratio > ZIP_MAX_RATIO:
            raise _fail(
                _("文件内部压缩比异常（%(r)d 倍），疑似“压缩炸弹”，已拒绝") % {"r": int(ratio)}
            )
    if total > ZIP_MAX_TOTAL:
        raise _fail(
            _("文件解压后超过 %(m)d MB，疑似“压缩炸弹”或过大，已拒绝")
            % {"m": ZIP_MAX_TOTAL // 1024 // 1024}
        )
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise _fail(_("这是 Word 文档 (.docx)，不是 Excel 表格"))
        raise _fail(_("这是压缩包，不是 Excel 表格（缺少 xl/workbook.xml）"))
    return archive


_SHEET_REL = re.compile(rb'<sheet\b[^>]*?r:id="([^"]+)"')
_REL = re.compile(rb"<Relationship\b([^>]*)/?>")
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _first_sheet_path(archive: zipfile.ZipFile) -> str | None:
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    first = _SHEET_REL.search(workbook)
    if not first:
        return None
    for attrs in _REL.findall(rels):
        rid = re.search(rb'\bId="([^"]+)"', attrs)
        target = re.search(rb'\bTarget="([^"]+)"', attrs)
        if rid and target and rid.group(1) == first.group(1):
            path = target.group(1).decode("utf-8", "replace").lstrip("/")
            return path if path.startswith("xl/") else f"xl/{path}"
    return None


def _formula_cells(archive: zipfile.ZipFile) -> list[tuple[int, str, bool]]:
    """(row, column letters, has a cached value) of every formula cell of the first sheet.

    calamine returns a formula's cached result; a file written by a program that never
    calculated (no cached value) gives an empty cell, which the row must say.
    """
    path = _first_sheet_path(archive)
    if not path:
        return []
    try:
        raw = archive.read(path)  # bounded: the entry sizes were checked
    except KeyError:
        return []
    if b"<f" not in raw:
        return []
    out: list[tuple[int, str, bool]] = []
    for match in _CELL.finditer(raw):
        body = match.group(2) or b""
        if b"<f" not in body:
            continue
        ref = _REF.search(match.group(1))
        if not ref:
            continue
        value = re.search(rb"<v>(.*?)</v>", body, re.S)
        out.append((int(ref.group(2)), ref.group(1).decode(), bool(value and value.group(1))))
    return out


def read_xlsx(data: bytes, limits: Limits) -> Table:
    import python_calamine as calamine

    archive = _zip_check(data)
    formulas = _formula_cells(archive)
    try:
        workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for broken files
        raise _fail(_("Excel 文件无法读取：%(e)s") % {"e": str(exc)[:120]}) from exc
    table = Table(format="xlsx")
    names = workbook.sheet_names
    if not names:
        raise _fail(_("Excel 文件没有工作表"))
    sheet = workbook.get_sheet_by_index(0)
    if len(names) > 1:
        table.messages.append(
            _("文件有 %(n)d 个工作表，只导入第一个「%(s)s」")
            % {"n": len(names), "s": names[0][:50]}
        )
    if sheet.total_height > limits.max_rows + 50:
        raise _fail(
            _("文件约有 %(n)s 行，超过单次导入上限 %(m)s 行；请拆分文件后分批导入")
            % {"n": f"{sheet.total_height:,}", "m": f"{limits.max_rows:,}"}
        )
    if sheet.total_width > MAX_COLUMNS:
        raise _fail(
            _("文件有 %(n)d 列，超过上限 %(m)d 列") % {"n": sheet.total_width, "m": MAX_COLUMNS}
        )
    start = sheet.start or (0, 0)
    col_offset = start[1]
    grid: list[tuple[int, list[str]]] = []
    for index, raw_row in enumerate(sheet.iter_rows()):
        number = index + 1
        cells = [
            cell_text(v, row=number, col=col_offset + j, table=table) for j, v in enumerate(raw_row)
        ]
        grid.append((number, cells))
    # Merged areas: calamine gives the value in the top-left cell only. A value merged down
    # over several rows (one company over its contacts) belongs to each of those rows.
    merged = getattr(sheet, "merged_cell_ranges", None) or []
    by_number = {n: cells for n, cells in grid}
    for (r1, c1), (r2, _c2) in merged:
        top = by_number.get(r1 + 1)
        c1r = c1 - col_offset
        if top is None or c1r < 0 or c1r >= len(top) or r2 <= r1:
            continue
        value = top[c1r]
        for r in range(r1 + 2, r2 + 2):
            below = by_number.get(r)
            if below is not None and c1r < len(below) and not below[c1r]:
                below[c1r] = value
        if value:
            table.note(
                r1 + 1,
                _("%(col)s%(a)d:%(col)s%(b)d 是合并单元格，已把值填入合并区域的每一行")
                % {"col": column_letter(c1), "a": r1 + 1, "b": r2 + 1},
            )
            for r in range(r1 + 2, r2 + 2):
                table.note(
                    r,
                    _("%(col)s 列取自合并单元格（第 %(a)d 行）")
                    % {"col": column_letter(c1), "a": r1 + 1},
                )
    for number, letters, has_value in formulas:
        if has_value:
            table.note(
                number, _("%(c)s%(r)d 是公式，导入的是它的计算结果") % {"c": letters, "r": number}
            )
        else:
            table.note(
                number,
                _("%(c)s%(r)d 是没有计算结果的公式，按空值导入（请在 Excel 中打开并保存后再导入）")
                % {"c": letters, "r": number},
            )
    if formulas:
        table.messages.append(
            _("文件含有 %(n)d 个公式单元格，导入的是公式的计算结果") % {"n": len(formulas)}
        )
    _finish(table, grid, limits)
    return table


# ---------------------------------------------------------------- csv


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding label). UTF-8 (with or without BOM) when the bytes are valid UTF-8,
    UTF-16 when a UTF-16 BOM says so (Excel's "Unicode text"), else GB18030, the superset
    of GBK and GB2312 that Chinese Excel and WPS save CSV in."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise _fail(_("文件声明为 UTF-16 编码但内容不符，无法读取")) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "UTF-8 BOM" if data.startswith(codecs.BOM_UTF8) else "UTF-8"
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as exc:
        raise _fail(
            _(
                "无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030）：请在 Excel 中另存为“CSV UTF-8”"
            )
        ) from exc


def _delimiter(sample: str) -> str:
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    # Chinese full-width comma as separator: seen in hand-made files, never in Excel's.
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes, limits: Limits) -> Table:
    text, encoding = decode_text(data)
    table = Table(format="csv", encoding=encoding)
    if encoding == "GB18030":
        table.messages.append(_("文件编码识别为 GBK/GB18030（中文 Excel 默认保存的 CSV 编码）"))
    elif encoding == "UTF-16":
        table.messages.append(_("文件编码识别为 UTF-16（Excel 的“Unicode 文本”）"))
    if "\x00" in text:
        raise _fail(_("文件含有空字符（NUL），不是正常的文本表格"))
    delimiter = _delimiter(text[:8192])
    csv.field_size_limit(max(limits.max_bytes, 1024 * 1024))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid: list[tuple[int, list[str]]] = []
    try:
        for index, cells in enumerate(reader):
            if index > limits.max_rows + 50:
                raise _fail(
                    _("文件超过单次导入上限 %(m)s 行；请拆分文件后分批导入")
                    % {"m": f"{limits.max_rows:,}"}
                )
            if len(cells) > MAX_COLUMNS:
                raise _fail(
                    _("第 %(r)d 行有 %(n)d 列，超过上限 %(m)d 列")
                    % {"r": index + 1, "n": len(cells), "m": MAX_COLUMNS}
                )
            grid.append((index + 1, cells))
    except csv.Error as exc:
        raise _fail(
            _("CSV 格式错误（第 %(r)d 行）：%(e)s") % {"r": reader.line_num, "e": exc}
        ) from exc
    _finish(table, grid, limits)
    return table


# ---------------------------------------------------------------- vCard

VCARD_HEADERS = [
    "姓名",
    "公司",
    "部门",
    "职务",
    "手机",
    "电话",
    "邮箱",
    "微信",
    "地址",
    "网址",
    "生日",
    "备注",
]


def _vcard_lines(text: str) -> list[str]:
    """Unfold: vCard 3/4 continue a line with a leading space; vCard 2.1 quoted-printable
    values continue with a trailing "=" (soft line break)."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and out:
            out[-1] += raw[1:]
            continue
        if out and out[-1].endswith("=") and "QUOTED-PRINTABLE" in out[-1].split(":", 1)[0].upper():
            out[-1] = out[-1][:-1] + raw
            continue
        out.append(raw)
    return out


def _vcard_value(params: list[str], value: str) -> str:
    upper = [p.upper() for p in params]
    charset = "utf-8"
    for p in upper:
        if p.startswith("CHARSET="):
            charset = p.split("=", 1)[1].strip('"').lower()
    if "ENCODING=QUOTED-PRINTABLE" in upper or "QUOTED-PRINTABLE" in upper:
        raw = quopri.decodestring(value.encode("latin-1", "replace"))
        if charset in ("x-gbk", "gbk", "gb2312"):
            charset = "gb18030"
        try:
            value = raw.decode(charset, "replace")
        except LookupError:
            value = raw.decode("utf-8", "replace")
    return (
        value.replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\:", ":")
    )


def _vcard_types(params: list[str]) -> set[str]:
    types: set[str] = set()
    for p in params:
        key, _sep, val = p.partition("=")
        if not _sep:
            types.add(key.upper())
        elif key.upper() == "TYPE":
            types.update(v.upper().strip('"') for v in val.split(","))
    return types


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def read_vcf(data: bytes, limits: Limits) -> Table:
    text, encoding = decode_text(data)
    if "BEGIN:VCARD" not in text.upper():
        raise _fail(_("文件扩展名是 .vcf，但内容不是 vCard 名片"))
    table = Table(format="vcf", encoding=encoding, headers=list(VCARD_HEADERS))
    cards: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    skipped = 0
    for line in _vcard_lines(text):
        if not line.strip():
            continue
        head, sep, value = line.partition(":")
        if not sep:
            continue
        parts = head.split(";")
        name = parts[0].split(".")[-1].upper()  # "item1.EMAIL" → EMAIL
        params = parts[1:]
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            current = {h: [] for h in VCARD_HEADERS}
            continue
        if name == "END" and value.strip().upper() == "VCARD":
            if current is not None:
                cards.append(current)
                if len(cards) > limits.max_rows:
                    raise _fail(_("名片超过单次导入上限 %(m)s 张") % {"m": f"{limits.max_rows:,}"})
            current = None
            continue
        if current is None:
            continue
        if any(p.upper() in ("ENCODING=BASE64", "ENCODING=B", "BASE64") for p in params):
            skipped += name in ("PHOTO", "LOGO", "KEY", "SOUND")
            continue
        val = _vcard_value(params, value).strip()
        if not val:
            continue
        types = _vcard_types(params)
        if name == "FN":
            current["姓名"].insert(0, val)
        elif name == "N" and not current["姓名"]:
            family, given, *_rest = [*val.split(";"), "", ""][:5]
            full = f"{family}{given}" if _has_cjk(family + given) else f"{given} {family}"
            if full.strip():
                current["姓名"].append(full.strip())
        elif name == "ORG":
            org, *units = [p for p in val.split(";")]
            if org:
                current["公司"].append(org)
            if any(units):
                current["部门"].append(" ".join(u for u in units if u))
        elif name == "TITLE":
            current["职务"].append(val)
        elif name == "TEL":
            if "FAX" in types:
                current["备注"].append(_("传真：%s") % val)
            elif "CELL" in types or "MOBILE" in types:
                current["手机"].append(val)
            else:
                current["电话"].append(val)
        elif name == "EMAIL":
            current["邮箱"].append(val)
        elif name in ("X-WECHAT", "X-WEIXIN"):
            current["微信"].append(val)
        elif name == "ADR":
            parts_ = [p for p in val.split(";") if p.strip()]
            if parts_:
                ordered = list(reversed(parts_)) if _has_cjk(val) else parts_
                current["地址"].append((" " if not _has_cjk(val) else "").join(ordered))
        elif name == "URL":
            current["网址"].append(val)
        elif name == "BDAY":
            current["生日"].append(val)
        elif name == "NOTE":
            current["备注"].append(val)
    if not cards:
        raise _fail(_("vCard 文件中没有名片（缺少 BEGIN:VCARD … END:VCARD）"))
    if skipped:
        table.messages.append(_("名片中的照片、证书等附件已忽略（%(n)d 项）") % {"n": skipped})
    grid: list[tuple[int, list[str]]] = [(1, list(VCARD_HEADERS))]
    for i, card in enumerate(cards):
        row: list[str] = []
        for h in VCARD_HEADERS:
            values = list(dict.fromkeys(card[h]))
            sep_ = "\n" if h in ("备注", "地址") else "; "
            row.append(sep_.join(values[:1] if h == "姓名" else values))
        grid.append((i + 2, row))
    _finish(table, grid, limits, header_given=True)
    table.messages.append(_("共读取 %(n)d 张名片（第 N 行 = 第 N-1 张名片）") % {"n": len(cards)})
    return table


# ---------------------------------------------------------------- shared


def _blank(cells: list[str]) -> bool:
    return not any(str(c).strip() for c in cells)


def _finish(
    table: Table, grid: list[tuple[int, list[str]]], limits: Limits, header_given: bool = False
) -> None:
    """Find the header row, pad rows, apply the cell length limit and the row limit."""
    # Drop trailing blank rows (Excel's formatted-but-empty rows), keep blank rows inside.
    while grid and _blank(grid[-1][1]):
        grid.pop()
    start = 0
    while start < len(grid) and _blank(grid[start][1]):
        start += 1
    if start >= len(grid):
        raise _fail(_("文件是空的（0 行数据），请检查是否选错了文件"))
    # A title line above the header ("2019年客户名单" in A1, maybe merged across): one
    # filled cell followed by a row with several filled cells.
    if not header_given and start + 1 < len(grid):
        first = [c for c in grid[start][1] if str(c).strip()]
        second = [c for c in grid[start + 1][1] if str(c).strip()]
        if len(first) == 1 and len(second) >= 2:
            table.messages.append(
                _("第 %(r)d 行「%(t)s」看起来是标题，已跳过；表头取第 %(h)d 行")
                % {"r": grid[start][0], "t": str(first[0])[:40], "h": grid[start + 1][0]}
            )
            start += 1
    header_number, header_cells = grid[start]
    data = grid[start + 1 :]
    while header_cells and not str(header_cells[-1]).strip():
        if any(
            len(cells) >= len(header_cells) and str(cells[len(header_cells) - 1]).strip()
            for _n, cells in data
        ):
            break
        header_cells = header_cells[:-1]
    width = max([len(header_cells)] + [len(c) for _n, c in data]) if data else len(header_cells)
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        raw = str(header_cells[i]).strip() if i < len(header_cells) else ""
        label = re.sub(r"\s+", " ", raw)[:100] or _("第 %(c)s 列") % {"c": column_letter(i)}
        if label in seen:
            seen[label] += 1
            label = f"{label} ({seen[label]})"
        else:
            seen[label] = 1
        headers.append(label)
    if not data:
        raise _fail(_("文件只有表头（第 %(r)d 行），没有数据行") % {"r": header_number})
    if len(data) > limits.max_rows:
        raise _fail(
            _("文件有 %(n)s 行数据，超过单次导入上限 %(m)s 行；请拆分文件后分批导入")
            % {"n": f"{len(data):,}", "m": f"{limits.max_rows:,}"}
        )
    table.headers = headers
    limit = limits.max_cell_chars
    for number, cells in data:
        padded = [unescape(str(c)) for c in cells[:width]] + [""] * (width - len(cells))
        for j, value in enumerate(padded):
            if len(value) > limit:
                table.refuse(
                    number,
                    _("%(col)s 列「%(h)s」有 %(n)s 个字符，超过单元格上限 %(m)s 个字符，本行未导入")
                    % {
                        "col": column_letter(j),
                        "h": headers[j],
                        "n": f"{len(value):,}",
                        "m": f"{limit:,}",
                    },
                )
                padded[j] = ""
        table.rows.append(padded)
        table.numbers.append(number)
    if header_number > 1 and not header_given:
        table.messages.append(_("表头在第 %(r)d 行") % {"r": header_number})


def read_table(name: str, data: bytes, limits: Limits | None = None) -> Table:
    """Read an uploaded file. Raises ValidationFailed(field="file") with a clear message."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise _fail(
            _("文件大小 %(s).1f MB，超过上限 %(m)d MB")
            % {"s": len(data) / 1024 / 1024, "m": limits.max_bytes // 1024 // 1024}
        )
    fmt = detect_format(name, data)
    if fmt == "xlsx":
        return read_xlsx(data, limits)
    if fmt == "vcf":
        return read_vcf(data, limits)
    return read_csv(data, limits)
