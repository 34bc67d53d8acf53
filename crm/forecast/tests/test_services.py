"""Setting targets: who may (a rep never; a manager for the subtree and reports, not
themselves; an administrator anyone), amounts, the year grid, the audit trail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.audit.models import AuditEntry
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.forecast.models import SalesTarget
from crm.forecast.selectors import target_list, target_reach
from crm.forecast.services import amount_parse, target_delete, target_set, targets_save


def test_manager_sets_a_report_target_with_audit(org):
    t = target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount="12万")
    assert t is not None and t.amount == Decimal("120000.00") and t.month == dt.date(2026, 11, 1)
    assert t.set_by == org.li_na
    entry = AuditEntry.objects.filter(entity="sales_target").latest("seq")
    assert entry.action == "create" and entry.changes == {"amount": [None, "120000.00"]}
    # Same value again: nothing written; another value: updated and audited.
    target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount="120,000")
    assert AuditEntry.objects.filter(entity="sales_target").count() == 1
    target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount=150000)
    assert SalesTarget.objects.get().amount == Decimal("150000.00")
    # Emptied: removed, audited.
    assert target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount="") is None
    assert not SalesTarget.objects.exists()
    assert [e.action for e in AuditEntry.objects.filter(entity="sales_target").order_by("seq")] == [
        "create",
        "update",
        "delete",
    ]


def test_rep_cannot_set_targets(org):
    with pytest.raises(PermissionDenied):
        target_set(actor=org.zhang_wei, user=org.zhang_wei, month="2026-11", amount=1)
    with pytest.raises(PermissionDenied):
        target_set(actor=org.zhang_wei, department=org.east, month="2026-11", amount=1)
    with pytest.raises(PermissionDenied):
        targets_save(actor=org.zhang_wei, year=2026, values={f"u{org.zhang_wei.pk}": {1: "1"}})
    assert target_reach(org.zhang_wei) == ([], [])


def test_manager_only_within_the_subtree(org):
    # 华南's manager: not a 华东 rep, not 华东, not himself.
    with pytest.raises(PermissionDenied):
        target_set(actor=org.huang_qiang, user=org.zhang_wei, month="2026-11", amount=1)
    with pytest.raises(PermissionDenied):
        target_set(actor=org.huang_qiang, department=org.east, month="2026-11", amount=1)
    with pytest.raises(PermissionDenied):
        target_set(actor=org.huang_qiang, user=org.huang_qiang, month="2026-11", amount=1)
    target_set(actor=org.huang_qiang, user=org.wang_fang, month="2026-11", amount=1)
    target_set(actor=org.huang_qiang, department=org.south, month="2026-11", amount=1)
    # The director reaches both regions and the managers; the admin everyone.
    target_set(actor=org.director, user=org.li_na, month="2026-11", amount=1)
    target_set(actor=org.director, department=org.east, month="2026-11", amount=1)
    target_set(actor=org.admin, user=org.director, month="2026-11", amount=1)
    target_set(actor=org.admin, department=org.company, month="2026-11", amount=1)
    users, departments = target_reach(org.huang_qiang)
    assert users == [org.wang_fang.pk]
    assert departments == [org.south.pk]


def test_finance_and_marketing_read_but_do_not_set(org):
    target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount=1)
    assert target_list(actor=org.liu_yang).count() == 1
    assert target_list(actor=org.zhao_min).count() == 1
    with pytest.raises(PermissionDenied):
        target_set(actor=org.liu_yang, user=org.zhang_wei, month="2026-11", amount=2)


def test_target_visibility(org):
    target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount=1)
    target_set(actor=org.huang_qiang, user=org.wang_fang, month="2026-11", amount=2)
    target_set(actor=org.director, department=org.east, month="2026-11", amount=3)
    target_set(actor=org.director, department=org.south, month="2026-11", amount=4)
    amounts = lambda actor: sorted(int(t.amount) for t in target_list(actor=actor))  # noqa: E731
    assert amounts(org.zhang_wei) == [1, 3]  # his own and his department's
    assert amounts(org.wang_fang) == [2, 4]
    assert amounts(org.li_na) == [1, 3]
    assert amounts(org.huang_qiang) == [2, 4]
    assert amounts(org.director) == [1, 2, 3, 4]


def test_target_delete_checks_reach(org):
    t = target_set(actor=org.li_na, user=org.zhang_wei, month="2026-11", amount=1)
    assert t is not None
    with pytest.raises(PermissionDenied):
        target_delete(actor=org.huang_qiang, target=t)
    target_delete(actor=org.li_na, target=t)
    assert not SalesTarget.objects.exists()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("120000", Decimal("120000.00")),
        ("120,000.5", Decimal("120000.50")),
        ("12万", Decimal("120000.00")),
        ("1.5 万元", Decimal("15000.00")),
        ("¥ 3000", Decimal("3000.00")),
        ("  ", None),
        (None, None),
        (0, Decimal("0.00")),
    ],
)
def test_amount_parse(raw, value):
    assert amount_parse(raw) == value


@pytest.mark.parametrize("raw", ["abc", "-1", "1e20", "NaN", "Infinity", "12亿"])
def test_amount_parse_refuses(raw):
    with pytest.raises(ValidationFailed):
        amount_parse(raw)


def test_grid_saves_all_or_nothing(org):
    zw, east = org.zhang_wei, org.east
    changed = targets_save(
        actor=org.li_na,
        year=2026,
        values={f"u{zw.pk}": {1: "10000", 2: "20000", 3: ""}, f"d{east.pk}": {1: "5万"}},
    )
    assert changed == 3
    assert SalesTarget.objects.count() == 3
    # One bad cell: nothing of the grid is written, the cell is named.
    with pytest.raises(ValidationFailed) as err:
        targets_save(actor=org.li_na, year=2026, values={f"u{zw.pk}": {1: "30000", 2: "abc"}})
    assert [e["field"] for e in err.value.errors] == [f"u{zw.pk}-2"]
    assert SalesTarget.objects.get(user=zw, month=dt.date(2026, 1, 1)).amount == Decimal("10000")
    # A row out of reach refuses the whole grid.
    with pytest.raises(PermissionDenied):
        targets_save(
            actor=org.li_na,
            year=2026,
            values={f"u{zw.pk}": {1: "1"}, f"u{org.wang_fang.pk}": {1: "1"}},
        )
    assert SalesTarget.objects.get(user=zw, month=dt.date(2026, 1, 1)).amount == Decimal("10000")
    # Emptying removes; unchanged cells are not rewritten.
    changed = targets_save(actor=org.li_na, year=2026, values={f"u{zw.pk}": {1: "10000", 2: ""}})
    assert changed == 1
    assert SalesTarget.objects.count() == 2


def test_grid_refuses_garbage(org):
    for values in ({"x1": {1: "1"}}, {"u1x": {1: "1"}}, {f"u{org.zhang_wei.pk}": {13: "1"}}):
        with pytest.raises(ValidationFailed):
            targets_save(actor=org.li_na, year=2026, values=values)
    with pytest.raises(ValidationFailed):
        targets_save(actor=org.li_na, year=1900, values={})
    with pytest.raises(ValidationFailed):
        targets_save(actor=org.admin, year=2026, values={"u987654": {1: "1"}})


def test_user_xor_department(org):
    with pytest.raises(ValidationFailed):
        target_set(actor=org.admin, month="2026-11", amount=1)
    with pytest.raises(ValidationFailed):
        target_set(
            actor=org.admin, user=org.zhang_wei, department=org.east, month="2026-11", amount=1
        )
    with pytest.raises(ValidationFailed) as err:
        target_set(actor=org.admin, user=org.zhang_wei, month="11/2026", amount=1)
    assert err.value.field == "month"


def test_demo_targets_idempotent(db):
    from crm.demo import demo_organisation
    from crm.forecast.demo import demo_targets

    users = demo_organisation()
    first = demo_targets(users)
    assert "set" in first and SalesTarget.objects.count() == (8 + 3) * 6
    assert demo_targets(users).endswith(": 0 set")
    assert SalesTarget.objects.filter(department__name="华东销售部").count() == 6
