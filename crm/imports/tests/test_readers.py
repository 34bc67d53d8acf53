"""Reading files: formats, encodings, and every kind of bad input the issue lists."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from crm.core.errors import ValidationFailed
from crm.imports import readers
from crm.imports.readers import Limits, read_table
from crm.imports.tests.conftest import csv_bytes, xlsx_bytes

TESTDATA = Path("/work/shared/testdata")
HEADER = ["客户名称", "联系人", "手机"]
ROW = ["杭州测试科技有限公司", "王先生", "13812341234"]


def refused(name: str, data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(ValidationFailed) as exc:
        read_table(name, data, limits)
    assert exc.value.field == "file"
    return exc.value.message


# ---------------------------------------------------------------- formats and encodings


def test_xlsx_values_as_text():
    import datetime as dt

    data = xlsx_bytes(
        [
            [*HEADER, "金额", "日期"],
            [*ROW, 1200.5, dt.datetime(2024, 3, 8)],
            ["B公司", "", 13900001111, 7, None],
        ]
    )
    table = read_table("a.xlsx", data)
    assert table.format == "xlsx"
    assert table.headers == [*HEADER, "金额", "日期"]
    assert table.rows[0] == [*ROW, "1200.5", "2024-03-08"]
    assert table.rows[1][2] == "13900001111"  # a phone typed as a number, no ".0"
    assert table.numbers == [2, 3]


@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [
        ("utf-8", b"", "UTF-8"),
        ("utf-8", b"\xef\xbb\xbf", "UTF-8 BOM"),
        ("gbk", b"", "GB18030"),
        ("gb18030", b"", "GB18030"),
    ],
)
def test_csv_encodings_are_detected(encoding, bom, label):
    rows = [
        HEADER,
        [
            "广州𠮷祥贸易有限公司" if encoding == "gb18030" else "广州吉祥贸易有限公司",
            "李女士",
            "13900001111",
        ],
    ]
    table = read_table("a.csv", bom + csv_bytes(rows, encoding=encoding))
    assert table.encoding == label
    assert table.headers == HEADER
    assert table.rows[0][1] == "李女士"
    if label == "GB18030":
        assert any("GBK" in m for m in table.messages)


def test_csv_utf16_and_tab_separated():
    text = "客户名称\t手机\r\n杭州测试\t13800000000\r\n"
    table = read_table("a.txt", text.encode("utf-16"))
    assert table.encoding == "UTF-16"
    assert table.rows == [["杭州测试", "13800000000"]]


def test_csv_semicolon_and_quoted_newlines():
    data = '客户名称;备注\r\n"A公司";"第一行\n第二行"\r\n'.encode()
    table = read_table("a.csv", data)
    assert table.rows == [["A公司", "第一行\n第二行"]]


def test_formula_escape_of_our_exports_is_undone():
    table = read_table(
        "a.csv", csv_bytes([["客户名称", "备注"], ["A", "'=1+1"], ["B", "'不是公式"]])
    )
    assert table.rows[0][1] == "=1+1"
    assert table.rows[1][1] == "'不是公式"


@pytest.mark.parametrize("name", sorted(p.name for p in TESTDATA.glob("*.vcf")))
def test_real_vcards_parse(name):
    table = read_table(name, (TESTDATA / name).read_bytes())
    assert table.format == "vcf"
    assert table.headers == readers.VCARD_HEADERS
    assert table.rows, name


def test_vcard_fields():
    table = read_table("outlook.vcf", (TESTDATA / "ezvcard__outlook-2007.vcf").read_bytes())
    row = dict(zip(table.headers, table.rows[0], strict=True))
    assert row["姓名"] == "Mr. Michael Angstadt Jr."
    assert row["公司"] == "TheCompany" and row["部门"] == "TheDepartment"
    assert row["职务"] == "TheJobTitle"
    assert row["邮箱"] == "mike.angstadt@gmail.com"
    assert "(111) 555-4444" in row["手机"]
    assert "传真" in row["备注"]  # the fax number is a note, not a phone
    assert "It does not preserve the formatting" in row["备注"]  # quoted-printable, folded
    android = read_table("a.vcf", (TESTDATA / "ezvcard__John_Doe_ANDROID.vcf").read_bytes())
    names = [r[0] for r in android.rows]
    assert "Ñ Ñ Ñ Ñ Ñ" in names  # quoted-printable UTF-8 over soft line breaks
    assert any("照片" in m for m in android.messages)


def test_vcard_chinese_name_order():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:王;小明;;;\r\nTEL;TYPE=CELL:138 0000 1111\r\nORG:杭州测试有限公司\r\nEND:VCARD\r\n"
    table = read_table("a.vcf", card.encode())
    assert table.rows[0][:2] == ["王小明", "杭州测试有限公司"]


# ---------------------------------------------------------------- bad input


def test_empty_files():
    assert "空" in refused("a.csv", b"")
    assert "空" in refused("a.csv", b"\xef\xbb\xbf \r\n  \r\n")
    assert "空" in refused("a.xlsx", xlsx_bytes([[None], [None]]))


def test_header_only():
    assert "只有表头" in refused("a.csv", csv_bytes([HEADER]))
    assert "只有表头" in refused("a.xlsx", xlsx_bytes([HEADER]))


def test_whitespace_rows_are_kept_as_rows():
    table = read_table("a.csv", csv_bytes([HEADER, ROW, ["  ", "\t", " "], ROW, ["", "", ""]]))
    assert len(table.rows) == 3  # the trailing blank row dropped, the one inside kept
    assert table.numbers == [2, 3, 4]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("a.xlsx", b"name,phone\nA,1\n", "不是 Excel 表格"),
        ("a.csv", xlsx_bytes([HEADER, ROW]), "Excel"),
        ("a.xlsx", b"%PDF-1.4\n...", "PDF"),
        ("a.csv", b"\x89PNG\r\n\x1a\n....", "图片"),
        ("a.xlsx", b"MZ\x90\x00" + b"\x00" * 100, "可执行程序"),
        ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "不支持的文件类型"),
        ("a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "另存为"),
        ("a.vcf", b"just text", "不是 vCard"),
        ("a.docx", b"PK\x03\x04", "不支持的文件类型"),
    ],
)
def test_content_not_matching_extension(name, data, says):
    assert says in refused(name, data)


def test_docx_renamed_to_xlsx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert "Word" in refused("a.xlsx", buf.getvalue())


def test_zip_bomb_disguised_as_xlsx_is_refused_before_inflating():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 100_000
    assert "压缩炸弹" in refused("bomb.xlsx", data)


def test_zip_total_size_limit(monkeypatch):
    monkeypatch.setattr(readers, "ZIP_MAX_TOTAL", 1000)
    assert "压缩炸弹" in refused("a.xlsx", xlsx_bytes([HEADER, ROW]))


def test_corrupt_xlsx():
    data = xlsx_bytes([HEADER, ROW])
    assert "损坏" in refused("a.xlsx", data[: len(data) // 2])


def test_merged_cells_fill_down_with_a_note():
    data = xlsx_bytes(
        [HEADER, ["杭州测试科技有限公司", "张三", "13800000001"], [None, "李四", "13800000002"]],
        merge=["A2:A3"],
    )
    table = read_table("a.xlsx", data)
    assert table.rows[1][0] == "杭州测试科技有限公司"
    assert any("合并单元格" in n for n in table.notes[2])
    assert any("合并单元格" in n for n in table.notes[3])


def test_formulas_are_reported():
    data = xlsx_bytes([["客户名称", "金额"], ["A", "=1+2"]])  # openpyxl stores no cached value
    table = read_table("a.xlsx", data)
    assert table.rows[0][1] == ""
    assert any("公式" in n for n in table.notes[2])
    assert any("公式" in m for m in table.messages)


def test_long_cells_refuse_the_row():
    long = "长" * 100_000
    table = read_table("a.csv", csv_bytes([HEADER, [ROW[0], long, ROW[2]], ROW]))
    assert 2 in table.refusals and "100,000" in table.refusals[2][0]
    assert table.rows[0][1] == ""  # never kept in memory or reports
    assert 3 not in table.refusals
    table = read_table("a.xlsx", xlsx_bytes([HEADER, [ROW[0], "长" * 32000, ROW[2]]]))
    assert 2 in table.refusals


def test_row_and_size_limits():
    rows = [HEADER] + [ROW] * 30
    assert "上限" in refused("a.csv", csv_bytes(rows), Limits(max_rows=10))
    assert "上限" in refused("a.xlsx", xlsx_bytes(rows), Limits(max_rows=10))
    assert "超过上限" in refused("a.csv", csv_bytes(rows), Limits(max_bytes=100))


def test_long_numbers_lost_in_excel_are_noted():
    table = read_table("a.xlsx", xlsx_bytes([["客户名称", "身份证"], ["A", 110101199003071234]]))
    assert any("15 位精度" in n for n in table.notes[2])


def test_title_row_and_duplicate_headers():
    data = xlsx_bytes([["2019年客户名单"], ["客户名称", "电话", "电话"], ["A", "1", "2"]])
    table = read_table("a.xlsx", data)
    assert table.headers == ["客户名称", "电话", "电话 (2)"]
    assert any("标题" in m for m in table.messages)


def test_extra_sheets_are_mentioned():
    table = read_table("a.xlsx", xlsx_bytes([HEADER, ROW], sheets=2))
    assert any("2 个工作表" in m for m in table.messages)


def test_naughty_strings_never_crash():
    lines = [
        ln
        for ln in (TESTDATA / "blns.txt").read_text(encoding="utf-8").splitlines()
        if ln and not ln.startswith("#")
    ]
    rows = [["客户名称", "备注"]] + [[f"公司{i}", line] for i, line in enumerate(lines[:400])]
    table = read_table("blns.csv", csv_bytes(rows))
    assert len(table.rows) == len(rows) - 1
