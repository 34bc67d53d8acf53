"""Quote revisions (历史报价策略): what a snapshot holds and what changed between two.

Pure functions over the JSON snapshots stored in QuoteRevision, so the history page, the
API and the tests read the same diff. A snapshot is
``{"header": {...}, "lines": [{...}, ...], "totals": {...}}`` with decimals as strings
("12000.00") and dates as ISO text.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

# Header fields compared between revisions, with how to show them. Foreign keys are
# compared by id and shown by the name stored next to it.
HEADER_FIELDS: dict[str, Any] = {
    "title": _("报价标题"),
    "contact_id": _("联系人"),
    "price_list_id": _("价格表"),
    "currency": _("币种"),
    "valid_until": _("有效期至"),
    "discount_pct": _("整单折扣（%）"),
    "tax_included": _("含税价"),
    "terms": _("条款"),
    "notes": _("备注"),
}
# id field -> the field holding its display name
NAMED = {"contact_id": "contact", "price_list_id": "price_list"}

LINE_FIELDS: dict[str, Any] = {
    "product_id": _("产品"),
    "name": _("品名"),
    "description": _("规格说明"),
    "unit": _("单位"),
    "quantity": _("数量"),
    "unit_price": _("单价"),
    "discount_pct": _("折扣（%）"),
    "tax_rate": _("税率（%）"),
    "amount": _("金额"),
}
NUMERIC = {"quantity", "unit_price", "discount_pct", "tax_rate", "amount"}
MONEY = {"unit_price", "amount"}

TOTAL_FIELDS: dict[str, Any] = {
    "subtotal": _("小计"),
    "discount_amount": _("整单折扣金额"),
    "tax_amount": _("税额"),
    "total": _("总计"),
}


def _same(field: str, a: Any, b: Any) -> bool:
    if field in NUMERIC or field in TOTAL_FIELDS or field == "discount_pct":
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except (InvalidOperation, ValueError):
            return a == b
    return (a if a is not None else "") == (b if b is not None else "")


def _shown(header: dict[str, Any], field: str) -> Any:
    if field in NAMED:
        return header.get(NAMED[field]) or ""
    return header.get(field)


def _line_key(line: dict[str, Any]) -> tuple[str, Any]:
    if line.get("product_id"):
        return ("product", line["product_id"])
    return ("name", (line.get("name") or "").strip())


def pair_lines(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Match lines: by line id first (a line edited in place keeps its id), then by product
    (or by name for lines without a product), in order. Returns (pairs, added, removed)."""
    old_left = list(old)
    pairs: list[tuple[dict, dict]] = []
    unmatched: list[dict] = []
    by_id = {o.get("id"): o for o in old_left if o.get("id") is not None}
    for line in new:
        match = by_id.pop(line.get("id"), None) if line.get("id") is not None else None
        if match is not None:
            old_left.remove(match)
            pairs.append((match, line))
        else:
            unmatched.append(line)
    added: list[dict] = []
    for line in unmatched:
        key = _line_key(line)
        match = next((o for o in old_left if _line_key(o) == key), None)
        if match is not None:
            old_left.remove(match)
            pairs.append((match, line))
        else:
            added.append(line)
    return pairs, added, old_left


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """What changed from `old` to `new` (both snapshots). Empty dict: nothing changed.

    {"header": {field: [old, new]}, "lines_added": [line], "lines_removed": [line],
     "lines_changed": [{"id", "name", "changes": {field: [old, new]}}],
     "totals": {field: [old, new]}}
    """
    if not old:
        return {}
    out: dict[str, Any] = {}
    old_h, new_h = old.get("header") or {}, new.get("header") or {}
    header = {}
    for field in HEADER_FIELDS:
        if not _same(field, old_h.get(field), new_h.get(field)):
            header[field] = [_shown(old_h, field), _shown(new_h, field)]
    if header:
        out["header"] = header
    pairs, added, removed = pair_lines(old.get("lines") or [], new.get("lines") or [])
    changed = []
    for before, after in pairs:
        fields = {
            f: [before.get(f), after.get(f)]
            for f in LINE_FIELDS
            if not _same(f, before.get(f), after.get(f))
        }
        if "product_id" in fields:
            fields["product_id"] = [
                before.get("product_code") or "",
                after.get("product_code") or "",
            ]
        if fields:
            changed.append({"id": after.get("id"), "name": after.get("name"), "changes": fields})
    if added:
        out["lines_added"] = added
    if removed:
        out["lines_removed"] = removed
    if changed:
        out["lines_changed"] = changed
    old_t, new_t = old.get("totals") or {}, new.get("totals") or {}
    totals = {
        f: [old_t.get(f), new_t.get(f)]
        for f in TOTAL_FIELDS
        if not _same(f, old_t.get(f), new_t.get(f))
    }
    if totals and (header or added or removed or changed):
        out["totals"] = totals
    return out


def content_equal(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """True when saving `new` over `old` would change nothing a customer would see."""
    if not old:
        return False
    return not snapshot_diff(old, new)


def diff_summary(changes: dict[str, Any]) -> dict[str, int]:
    """Counts for a one-line summary: header fields, lines added / removed / changed."""
    return {
        "header": len(changes.get("header") or {}),
        "added": len(changes.get("lines_added") or []),
        "removed": len(changes.get("lines_removed") or []),
        "changed": len(changes.get("lines_changed") or []),
    }


# ----------------------------------------------------------------- for display

MASK = "****"


def _display(field: str, value: Any) -> Any:
    if field == "tax_included":
        return _("含税") if value else _("不含税")
    if value in (None, ""):
        return "—"
    return value


def describe_changes(changes: dict[str, Any], *, amounts: bool = True) -> list[dict[str, Any]]:
    """A stored diff as rows for the history page: header fields, changed / added / removed
    lines, totals. `amounts` False masks every price and amount (field security)."""

    def money(field: str, value: Any) -> Any:
        if not amounts and (field in MONEY or field in TOTAL_FIELDS):
            return MASK
        return value

    rows: list[dict[str, Any]] = []
    if changes.get("status"):
        old, new = changes["status"]
        rows.append({"kind": "status", "label": _("状态"), "old": old, "new": new})
    for field, (old, new) in (changes.get("header") or {}).items():
        if field == "discount_pct" and not amounts:
            old = new = MASK
        rows.append(
            {
                "kind": "header",
                "label": HEADER_FIELDS.get(field, field),
                "field": field,
                "old": _display(field, old),
                "new": _display(field, new),
                "long": field in ("terms", "notes"),
            }
        )
    for line in changes.get("lines_changed") or []:
        fields = []
        for field, (old, new) in (line.get("changes") or {}).items():
            fields.append(
                {
                    "label": LINE_FIELDS.get(field, field),
                    "field": field,
                    "old": money(field, _display(field, old)),
                    "new": money(field, _display(field, new)),
                    "money": field in MONEY,
                }
            )
        rows.append({"kind": "line_changed", "name": line.get("name"), "fields": fields})
    for kind, key in (("line_added", "lines_added"), ("line_removed", "lines_removed")):
        for line in changes.get(key) or []:
            shown = dict(line)
            if not amounts:
                shown["unit_price"] = shown["amount"] = MASK
            rows.append({"kind": kind, "line": shown})
    for field, (old, new) in (changes.get("totals") or {}).items():
        rows.append(
            {
                "kind": "total",
                "label": TOTAL_FIELDS.get(field, field),
                "old": money(field, old),
                "new": money(field, new),
            }
        )
    return rows


def compare_rows(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two snapshots side by side: header fields and lines, each marked same / changed /
    added / removed (the changed fields of a changed line listed)."""
    old_h, new_h = old.get("header") or {}, new.get("header") or {}
    header = []
    for field, label in HEADER_FIELDS.items():
        a, b = _shown(old_h, field), _shown(new_h, field)
        header.append(
            {
                "label": label,
                "old": _display(field, a),
                "new": _display(field, b),
                "changed": not _same(field, old_h.get(field), new_h.get(field)),
                "long": field in ("terms", "notes"),
            }
        )
    pairs, added, removed = pair_lines(old.get("lines") or [], new.get("lines") or [])
    lines: list[dict[str, Any]] = []
    for before, after in pairs:
        changed = {f for f in LINE_FIELDS if not _same(f, before.get(f), after.get(f))}
        lines.append(
            {
                "status": "changed" if changed else "same",
                "old": before,
                "new": after,
                "changed": changed,
            }
        )
    lines.extend({"status": "removed", "old": x, "new": None, "changed": set()} for x in removed)
    lines.extend({"status": "added", "old": None, "new": x, "changed": set()} for x in added)
    old_t, new_t = old.get("totals") or {}, new.get("totals") or {}
    totals = [
        {
            "label": label,
            "old": old_t.get(field),
            "new": new_t.get(field),
            "changed": not _same(field, old_t.get(field), new_t.get(field)),
        }
        for field, label in TOTAL_FIELDS.items()
    ]
    return {"header": header, "lines": lines, "totals": totals}
