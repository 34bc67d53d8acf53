"""Receivables (per contract, instalment and customer), money through field security, and
the query counts that keep a customer with many contracts fast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.access.fieldsec import present
from crm.contracts import selectors, services
from crm.contracts.models import Contract, ContractStatus
from crm.contracts.tests.factories import active_contract, contract_of, customer_of
from crm.core.errors import NotFound

TODAY = timezone.localdate()


def _plan(contract, actor, *rows):
    return services.contract_plan_set(
        actor=actor,
        contract=contract,
        expected_version=None,
        instalments=[{"due_date": d, "amount": a} for d, a in rows],
    )


def test_instalment_states_and_contract_balance(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    _plan(
        c,
        org.zhang_wei,
        (TODAY - dt.timedelta(days=40), "20000"),  # paid below
        (TODAY - dt.timedelta(days=12), "30000"),  # partly paid, overdue
        (TODAY + dt.timedelta(days=5), "25000"),  # due soon
        (TODAY + dt.timedelta(days=200), "25000"),  # open
    )
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "30000"})
    d = selectors.contract_detail(actor=org.zhang_wei, contract_id=c.pk)
    assert [(r.state, r.days_overdue) for r in d.plan] == [
        ("paid", 0),
        ("overdue", 12),
        ("due_soon", 0),
        ("open", 0),
    ]
    assert [r.outstanding for r in d.plan] == [
        Decimal("0"),
        Decimal("20000"),
        Decimal("25000"),
        Decimal("25000"),
    ]
    assert d.balance.received == Decimal("30000.00")
    assert d.balance.outstanding == Decimal("70000.00")
    assert d.balance.overdue == Decimal("20000.00")
    assert d.balance.next_due == TODAY + dt.timedelta(days=5)
    assert d.can_pay and d.can_edit_plan


def test_customer_receivable_sums_visible_contracts_in_force(org):
    customer = customer_of(org.zhang_wei)
    a = active_contract(org.zhang_wei, org.li_na, customer, amount="100000")
    b = active_contract(org.zhang_wei, org.li_na, customer, amount="50000")
    contract_of(org.zhang_wei, customer, amount="999999")  # draft: not owed yet
    cancelled = active_contract(org.zhang_wei, org.li_na, customer, amount="70000")
    services.contract_cancel(actor=org.zhang_wei, contract=cancelled, reason="重签")
    services.payment_create(actor=org.zhang_wei, contract=a, data={"amount": "40000"})
    services.payment_create(actor=org.liu_yang, contract=b, data={"amount": "50000"})
    services.contract_close(actor=org.zhang_wei, contract=b)
    for user in (org.zhang_wei, org.li_na, org.liu_yang, org.admin):
        r = selectors.customer_receivable(actor=user, customer_id=customer.pk)
        assert r is not None
        assert (r.contracts, r.amount, r.received, r.outstanding) == (
            2,
            Decimal("150000.00"),
            Decimal("90000.00"),
            Decimal("60000.00"),
        )
    # Service reads contracts without amounts: no receivable at all.
    assert selectors.customer_receivable(actor=org.chen_jing, customer_id=customer.pk) is None
    # Another region sees none of them.
    r = selectors.customer_receivable(actor=org.wang_fang, customer_id=customer.pk)
    assert r is not None and r.contracts == 0 and r.outstanding == 0


def test_customer_with_many_contracts_is_a_few_queries(org):
    customer = customer_of(org.zhang_wei)
    contracts = []
    for i in range(30):
        c = contract_of(org.zhang_wei, customer, amount=str(10000 + i))
        contracts.append(c)
    Contract.objects.filter(pk__in=[c.pk for c in contracts]).update(status=ContractStatus.ACTIVE)
    for c in Contract.objects.filter(pk__in=[c.pk for c in contracts[:10]]):
        services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "1000"})
    selectors.money_access(org.liu_yang)  # field rules cached like on any request
    with CaptureQueriesContext(connection) as ctx:
        r = selectors.customer_receivable(actor=org.liu_yang, customer_id=customer.pk)
    assert r is not None
    assert r.amount == sum(Decimal(10000 + i) for i in range(30))
    assert r.received == Decimal("10000.00")
    assert len(ctx.captured_queries) <= 4, [q["sql"] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        group = selectors.customer_contracts(actor=org.liu_yang, customer_id=customer.pk)
    assert len(group.rows) == 10 and group.more == 20
    assert len(ctx.captured_queries) <= 12, [q["sql"] for q in ctx.captured_queries]


def test_contract_list_rows_and_totals_follow_field_security(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="300000")
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "100000"})
    page = selectors.contract_list(actor=org.chen_jing, filters={})
    [row] = selectors.contract_rows(org.chen_jing, page.items)
    assert row.amount is None and row.outstanding is None and row.received is None
    assert selectors.contract_totals(actor=org.chen_jing, filters={}) is None
    totals = selectors.contract_totals(actor=org.liu_yang, filters={})
    assert totals is not None and totals.outstanding == Decimal("200000.00")
    [row] = selectors.contract_rows(org.liu_yang, page.items)
    assert row.amount == Decimal("300000.00") and row.outstanding == Decimal("200000.00")
    assert "amount" not in present(org.chen_jing, c)
    assert present(org.liu_yang, c)["amount"] == "300000.00"


def test_region_wall_and_manager_scope(org):
    mine = contract_of(org.zhang_wei)
    south = contract_of(org.wang_fang, customer_of(org.wang_fang))
    with pytest.raises(NotFound):
        selectors.contract_get(actor=org.wang_fang, contract_id=mine.pk)
    with pytest.raises(NotFound):
        selectors.contract_detail(actor=org.huang_qiang, contract_id=mine.pk)
    assert {c.pk for c in selectors.contract_list(actor=org.li_na, filters={}).items} == {mine.pk}
    assert {c.pk for c in selectors.contract_list(actor=org.director, filters={}).items} == {
        mine.pk,
        south.pk,
    }
    assert selectors.contract_list(actor=org.zhao_min, filters={}).items == []
    assert selectors.contract_get(actor=org.liu_yang, contract_id=south.pk) == south


def test_list_filters(org):
    customer = customer_of(org.zhang_wei)
    a = contract_of(org.zhang_wei, customer, signed_on="2026-03-05", name="三月合同")
    contract_of(org.zhang_wei, signed_on="2026-04-05")
    late = active_contract(org.zhang_wei, org.li_na)
    _plan(late, org.zhang_wei, (TODAY - dt.timedelta(days=3), "1000"))

    def ids(**filters):
        return [c.pk for c in selectors.contract_list(actor=org.li_na, filters=filters).items]

    assert ids(signed="2026-03") == [a.pk]
    assert ids(customer=customer.pk) == [a.pk]
    assert ids(q="三月") == [a.pk]
    assert ids(status="active") == [late.pk]
    assert ids(overdue=True) == [late.pk]
    assert len(ids(owner="team")) == 3 and ids(owner="me") == []
    assert ids(owner=str(org.zhang_wei.pk)) == ids()


def test_receivables_page_lists_open_instalments(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    _plan(
        c,
        org.zhang_wei,
        (TODAY - dt.timedelta(days=10), "30000"),
        (TODAY + dt.timedelta(days=10), "30000"),
        (TODAY + dt.timedelta(days=100), "40000"),
    )
    draft = contract_of(org.zhang_wei, amount="5000")
    _plan(draft, org.zhang_wei, (TODAY - dt.timedelta(days=10), "5000"))

    def seqs(view, actor=org.liu_yang):
        page = selectors.instalment_list(actor=actor, filters={"view": view})
        return [(line.contract.pk, line.row.plan.seq) for line in page.items]

    assert seqs("overdue") == [(c.pk, 1)]
    assert seqs("due") == [(c.pk, 2)]
    assert seqs("open") == [(c.pk, 1), (c.pk, 2), (c.pk, 3)]
    assert seqs("overdue", org.wang_fang) == []
    summary = selectors.receivable_summary(actor=org.liu_yang)
    assert (summary.overdue, summary.overdue_count) == (Decimal("30000.00"), 1)
    assert (summary.due, summary.due_count) == (Decimal("30000.00"), 1)
    service = selectors.receivable_summary(actor=org.chen_jing)
    assert service.overdue is None and service.overdue_count == 1
