"""The diff between two revision snapshots (pure)."""

from __future__ import annotations

from crm.quotes.revisions import compare_rows, describe_changes, snapshot_diff


def snap(lines, **header):
    base = {
        "title": "报价",
        "contact_id": 1,
        "contact": "王建国",
        "price_list_id": None,
        "price_list": "",
        "currency": "CNY",
        "valid_until": "2026-12-31",
        "discount_pct": "0.00",
        "tax_included": True,
        "terms": "",
        "notes": "",
    }
    base.update(header)
    total = sum(float(x["amount"]) for x in lines)
    return {
        "header": base,
        "lines": lines,
        "totals": {"total": f"{total:.2f}", "subtotal": f"{total:.2f}"},
    }


def ln(id, name, qty="1.00", price="100.00", disc="0.00", product_id=None, amount=None):
    amount = amount or f"{float(qty) * float(price) * (1 - float(disc) / 100):.2f}"
    return {
        "id": id,
        "product_id": product_id,
        "product_code": f"P{product_id}" if product_id else "",
        "name": name,
        "description": "",
        "unit": "台",
        "quantity": qty,
        "unit_price": price,
        "discount_pct": disc,
        "tax_rate": "13.00",
        "amount": amount,
    }


def test_no_previous_revision_is_no_diff():
    assert snapshot_diff(None, snap([ln(1, "A")])) == {}


def test_same_content_is_empty_even_with_different_number_formats():
    a = snap([ln(1, "A", qty="2.00")])
    b = snap([ln(1, "A", qty="2")])
    assert snapshot_diff(a, b) == {}


def test_header_line_and_total_changes():
    a = snap(
        [ln(1, "机床", price="1000.00", product_id=7), ln(2, "传感器", qty="10.00", price="5.00")]
    )
    b = snap(
        [ln(1, "机床", price="900.00", disc="5.00", product_id=7), ln(3, "培训", price="300.00")],
        contact_id=2,
        contact="李娜",
        valid_until="2027-01-31",
    )
    d = snapshot_diff(a, b)
    assert d["header"]["contact_id"] == ["王建国", "李娜"]  # names, not ids
    assert d["header"]["valid_until"] == ["2026-12-31", "2027-01-31"]
    (changed,) = d["lines_changed"]
    assert changed["changes"]["unit_price"] == ["1000.00", "900.00"]
    assert changed["changes"]["discount_pct"] == ["0.00", "5.00"]
    assert [x["name"] for x in d["lines_removed"]] == ["传感器"]
    assert [x["name"] for x in d["lines_added"]] == ["培训"]
    assert d["totals"]["total"] == ["1050.00", "1155.00"]


def test_lines_without_ids_pair_by_product_then_name():
    a = snap([ln(1, "机床", product_id=7), ln(2, "运费")])
    b = snap([ln(None, "运费", price="120.00"), ln(None, "机床", product_id=7, qty="2.00")])
    d = snapshot_diff(a, b)
    assert "lines_added" not in d and "lines_removed" not in d
    names = {c["name"]: c["changes"] for c in d["lines_changed"]}
    assert names["运费"]["unit_price"] == ["100.00", "120.00"]
    assert names["机床"]["quantity"] == ["1.00", "2.00"]


def test_product_swap_shows_product_codes():
    a = snap([ln(1, "机床", product_id=7)])
    b = snap([ln(1, "机床", product_id=8)])
    assert snapshot_diff(a, b)["lines_changed"][0]["changes"]["product_id"] == ["P7", "P8"]


def test_describe_masks_amounts_when_asked():
    a = snap([ln(1, "机床", price="1000.00")])
    b = snap([ln(1, "机床", price="900.00"), ln(2, "培训", price="300.00")], discount_pct="5.00")
    rows = describe_changes(snapshot_diff(a, b), amounts=False)
    text = repr(rows)
    assert "900" not in text and "1000" not in text
    assert "****" in text
    kinds = [r["kind"] for r in rows]
    assert kinds == ["header", "line_changed", "line_added", "total", "total"]


def test_compare_rows_marks_each_line():
    a = snap([ln(1, "机床", product_id=7), ln(2, "运费")])
    b = snap([ln(1, "机床", product_id=7, price="90.00"), ln(3, "培训")])
    rows = compare_rows(a, b)
    statuses = [(r["status"], (r["old"] or r["new"])["name"]) for r in rows["lines"]]
    assert statuses == [("changed", "机床"), ("removed", "运费"), ("added", "培训")]
    assert rows["lines"][0]["changed"] == {"unit_price", "amount"}
    assert any(t["changed"] for t in rows["totals"])
