"""Contract services: numbers, sources, updates, the status machine, plans, payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from crm.access.models import FieldRule
from crm.access.visibility import clear_cache
from crm.audit.models import AuditEntry
from crm.contracts import services
from crm.contracts.models import Contract, ContractNumberCounter, ContractStatus, PaymentPlan
from crm.contracts.tests.factories import (
    active_contract,
    contract_of,
    customer_of,
    open_opportunity,
    won_opportunity,
)
from crm.core.config import setting_set
from crm.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from crm.core.recyclebin import record_restore
from crm.search.selectors import search
from crm.timeline.models import TimelineEvent

TODAY = timezone.localdate()
YEAR = TODAY.year


# ----------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1280000", "1280000.00"),
        ("1,280,000.00", "1280000.00"),
        ("¥1,280,000", "1280000.00"),
        ("￥ 1 280 000.5", "1280000.50"),
        ("128万", "1280000.00"),
        ("1.28万", "12800.00"),
        ("１２８万", "1280000.00"),  # full-width digits from a Chinese IME
        ("3亿", "300000000.00"),
        ("9800元", "9800.00"),
    ],
)
def test_amount_parse_accepts_what_people_type(text, expected):
    assert services.amount_parse(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请填写金额"),
        ("abc", "金额格式不对"),
        ("-5", "金额必须大于 0"),
        ("0", "金额必须大于 0"),
        ("1.005", "两位小数"),
        ("NaN", "金额格式不对"),
        ("1e30", "金额过大"),
        ("Infinity", "金额格式不对"),
    ],
)
def test_amount_parse_refuses_clearly(text, message):
    with pytest.raises(ValidationFailed) as exc:
        services.amount_parse(text)
    assert message in exc.value.message
    assert exc.value.field == "amount"


# ----------------------------------------------------------------- create and numbers


def test_create_numbers_automatically_per_year(org):
    c1 = contract_of(org.zhang_wei)
    c2 = contract_of(org.zhang_wei)
    assert c1.number == f"HT-{YEAR}-0001"
    assert c2.number == f"HT-{YEAR}-0002"
    assert c1.status == ContractStatus.DRAFT
    assert c1.owner == org.zhang_wei
    assert c1.amount_value == Decimal("1280000.00")
    assert ContractNumberCounter.objects.get(key=f"HT-{YEAR}").value == 2


def test_prefix_and_width_are_configurable(org):
    setting_set(
        actor=org.admin,
        key="contracts.settings",
        value={"number_prefix": "SH-HT", "number_digits": 5},
    )
    assert contract_of(org.zhang_wei).number == f"SH-HT-{YEAR}-00001"


def test_typed_number_must_be_unique_and_is_skipped_by_automatic_numbers(org):
    typed = contract_of(org.zhang_wei, number=f"HT-{YEAR}-0002")
    assert typed.number == f"HT-{YEAR}-0002"
    assert contract_of(org.zhang_wei).number == f"HT-{YEAR}-0001"
    assert contract_of(org.zhang_wei).number == f"HT-{YEAR}-0003"  # 0002 was typed
    with pytest.raises(ValidationFailed) as exc:
        contract_of(org.zhang_wei, number=f"ht-{YEAR}-0002")
    assert exc.value.field == "number"
    assert "已被使用" in exc.value.message


def test_typed_number_of_a_deleted_contract_is_still_taken(org):
    c = contract_of(org.zhang_wei, number="HT-OLD-1")
    services.contract_delete(actor=org.zhang_wei, contract=c)
    with pytest.raises(ValidationFailed, match="回收站"):
        contract_of(org.zhang_wei, number="HT-OLD-1")


@pytest.mark.parametrize("number", ["HT 2026 1", "合同一号", "x" * 51, "-HT"])
def test_bad_typed_numbers_are_refused(org, number):
    with pytest.raises(ValidationFailed) as exc:
        contract_of(org.zhang_wei, number=number)
    assert exc.value.field == "number"


def test_failed_creation_does_not_use_up_a_number(org):
    with pytest.raises(ValidationFailed):
        contract_of(org.zhang_wei, name="")
    assert contract_of(org.zhang_wei).number == f"HT-{YEAR}-0001"


def test_create_checks_rights_and_visibility(org):
    customer = customer_of(org.zhang_wei)
    # A 华南 rep cannot see a 华东 customer: missing, not forbidden.
    with pytest.raises(NotFound):
        contract_of(org.wang_fang, customer)
    # Marketing has no contract rights; finance reads but never writes.
    for user in (org.zhao_min, org.liu_yang, org.chen_jing):
        with pytest.raises(PermissionDenied):
            contract_of(user, customer)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"amount": ""}, "amount"),
        ({"amount": "很多"}, "amount"),
        ({"currency": "人民币"}, "currency"),
        ({"start_date": "2026-05-01", "end_date": "2026-04-01"}, "end_date"),
        ({"signed_on": "2026-13-01"}, "signed_on"),
        ({"signed_on": (TODAY + dt.timedelta(days=400)).isoformat()}, "signed_on"),
        ({"name": "x" * 201}, "name"),
        ({"notes": "a\x00b"}, "notes"),
    ],
)
def test_bad_input_names_the_field(org, data, field):
    with pytest.raises(ValidationFailed) as exc:
        contract_of(org.zhang_wei, **data)
    assert exc.value.field == field


def test_owner_may_be_a_report_but_not_a_stranger(org):
    customer = customer_of(org.li_na)
    c = services.contract_create(
        actor=org.li_na,
        customer=customer,
        data={"name": "框架协议", "amount": "100000"},
        owner=org.zhang_wei,
    )
    assert c.owner == org.zhang_wei
    with pytest.raises(PermissionDenied):
        services.contract_create(
            actor=org.li_na,
            customer=customer,
            data={"name": "x", "amount": "1"},
            owner=org.wang_fang,
        )


# ----------------------------------------------------------------- encryption at rest


def test_amount_is_encrypted_at_rest_and_never_in_the_audit_log_or_timeline(org):
    c = contract_of(org.zhang_wei, amount="1280000")
    services.contract_update(
        actor=org.zhang_wei, contract=c, expected_version=c.version, data={"amount": "1350000"}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount FROM contracts_contract WHERE id = %s", [c.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("fernet:")
    assert "1350000" not in raw and "1280000" not in raw
    assert Contract.objects.get(pk=c.pk).amount_value == Decimal("1350000.00")
    for entry in AuditEntry.objects.filter(entity="contract"):
        text = str(entry.changes)
        assert "1280000" not in text and "1350000" not in text
    update = AuditEntry.objects.filter(entity="contract", action="update").latest("seq")
    assert update.changes["amount"][0].startswith("fernet:")
    for event in TimelineEvent.objects.filter(customer=c.customer):
        assert "1280000" not in event.summary + str(event.data)
        assert "128" not in event.summary


def test_audit_page_shows_the_encrypted_amount_in_clear_to_readers_and_masked_to_others(org):
    """The audit log keeps the amount encrypted; the page decrypts it for a reader whose
    field security shows the amount (administrators) and prints **** for anyone else."""
    from crm.audit.views import _Names, change_lines

    c = contract_of(org.zhang_wei, amount="1280000")
    services.contract_update(
        actor=org.zhang_wei, contract=c, expected_version=c.version, data={"amount": "1350000"}
    )
    entry = AuditEntry.objects.filter(entity="contract", action="update").latest("seq")
    lines = {str(x.label): x for x in change_lines(entry, _Names(org.admin, [entry]))}
    amount = next(x for label, x in lines.items() if "金额" in label)
    assert "1280000" in (amount.old or "") and "1350000" in amount.new
    created = AuditEntry.objects.filter(entity="contract", action="create").latest("seq")
    shown = " ".join(x.new for x in change_lines(created, _Names(org.admin, [created])))
    assert "1280000" in shown and "fernet:" not in shown
    FieldRule.objects.create(
        role=org.roles["sales_rep"], entity="contract", field="amount", access="masked"
    )
    clear_cache(org.zhang_wei)
    lines = change_lines(entry, _Names(org.zhang_wei, [entry]))
    amount = next(x for x in lines if "金额" in str(x.label))
    assert amount.new == "****" and amount.old == "****"


# ----------------------------------------------------------------- from an opportunity or quote


def test_from_won_opportunity_prefills_customer_name_and_amount(org):
    customer = customer_of(org.zhang_wei)
    opp = won_opportunity(org.zhang_wei, customer, amount="860000")
    c = services.contract_from_opportunity(
        actor=org.zhang_wei, opportunity=opp, data={"signed_on": TODAY}
    )
    assert c.customer == customer
    assert c.opportunity == opp
    assert c.name == opp.name
    assert c.amount_value == Decimal("860000.00")
    assert c.signed_on == TODAY
    event = TimelineEvent.objects.filter(customer=customer, kind="contract_created").get()
    assert c.number in event.summary and opp.name in event.summary


def test_from_opportunity_data_overrides_the_prefill(org):
    opp = won_opportunity(org.zhang_wei, customer_of(org.zhang_wei))
    c = services.contract_from_opportunity(
        actor=org.zhang_wei, opportunity=opp, data={"name": "一期合同", "amount": "500000"}
    )
    assert (c.name, c.amount_value) == ("一期合同", Decimal("500000.00"))


def test_only_a_won_opportunity_becomes_a_contract(org):
    opp = open_opportunity(org.zhang_wei, customer_of(org.zhang_wei))
    with pytest.raises(ValidationFailed) as exc:
        services.contract_from_opportunity(actor=org.zhang_wei, opportunity=opp)
    assert exc.value.field == "opportunity"
    assert "赢单" in exc.value.message


def test_someone_elses_opportunity_is_missing(org):
    opp = won_opportunity(org.zhang_wei, customer_of(org.zhang_wei))
    with pytest.raises(NotFound):
        services.contract_from_opportunity(actor=org.wang_fang, opportunity=opp)


def _quote(owner, customer, status="sent"):
    from crm.quotes.services import quote_create, quote_set_status

    quote = quote_create(
        actor=owner,
        customer=customer,
        data={"title": "视觉检测设备报价", "valid_until": TODAY + dt.timedelta(days=30)},
        lines=[{"name": "视觉检测设备", "quantity": "2", "unit_price": "150000"}],
    )
    if status != "draft":
        quote_set_status(actor=owner, quote=quote, status="sent")
    if status == "accepted":
        quote_set_status(actor=owner, quote=quote, status="accepted")
    quote.refresh_from_db()
    return quote


def test_from_sent_or_accepted_quote_takes_its_total(org):
    customer = customer_of(org.zhang_wei)
    quote = _quote(org.zhang_wei, customer, "accepted")
    c = services.contract_from_quote(actor=org.zhang_wei, quote=quote)
    assert c.amount_value == quote.total and quote.total > 0
    assert (c.quote, c.customer, c.name) == (quote, customer, quote.title)
    # One contract per quote (unless the first is cancelled).
    with pytest.raises(Conflict):
        services.contract_from_quote(actor=org.zhang_wei, quote=quote)
    services.contract_cancel(actor=org.zhang_wei, contract=c, reason="客户改为分两期签")
    assert services.contract_from_quote(actor=org.zhang_wei, quote=quote).quote == quote
    sent = _quote(org.zhang_wei, customer, "sent")
    assert services.contract_from_quote(actor=org.zhang_wei, quote=sent).amount_value == sent.total


def test_draft_quote_is_refused(org):
    quote = _quote(org.zhang_wei, customer_of(org.zhang_wei), "draft")
    with pytest.raises(ValidationFailed) as exc:
        services.contract_from_quote(actor=org.zhang_wei, quote=quote)
    assert exc.value.field == "quote"


# ----------------------------------------------------------------- update


def test_update_is_versioned_and_audited(org):
    c = contract_of(org.zhang_wei)
    v = c.version
    services.contract_update(
        actor=org.zhang_wei, contract=c, expected_version=v, data={"name": "装配线合同（修订）"}
    )
    assert c.version == v + 1
    stale = Contract.objects.get(pk=c.pk)
    with pytest.raises(StaleVersion):
        services.contract_update(
            actor=org.zhang_wei, contract=stale, expected_version=v, data={"name": "另一个名字"}
        )
    assert Contract.objects.get(pk=c.pk).name == "装配线合同（修订）"
    entry = AuditEntry.objects.filter(entity="contract", action="update").latest("seq")
    assert entry.changes["name"] == ["自动化装配线采购合同", "装配线合同（修订）"]


def test_unchanged_values_are_no_write(org):
    c = contract_of(org.zhang_wei)
    v = c.version
    services.contract_update(
        actor=org.zhang_wei,
        contract=c,
        expected_version=v,
        data={"name": c.name, "amount": "1,280,000.00", "number": ""},
    )
    assert Contract.objects.get(pk=c.pk).version == v


def test_amount_edit_requires_the_field_to_be_writable(org):
    c = contract_of(org.zhang_wei)
    FieldRule.objects.create(
        role=org.roles["sales_rep"], entity="contract", field="amount", access="readonly"
    )
    clear_cache(org.zhang_wei)
    with pytest.raises(PermissionDenied) as exc:
        services.contract_update(
            actor=org.zhang_wei, contract=c, expected_version=None, data={"amount": "1"}
        )
    assert exc.value.field == "amount"
    # Other fields still change; the same amount sent back is not a change.
    services.contract_update(
        actor=org.zhang_wei,
        contract=c,
        expected_version=None,
        data={"amount": "1280000", "notes": "客户要求加急"},
    )
    assert Contract.objects.get(pk=c.pk).notes == "客户要求加急"


def test_finance_reads_but_cannot_edit(org):
    c = contract_of(org.zhang_wei)
    with pytest.raises(PermissionDenied):
        services.contract_update(
            actor=org.liu_yang, contract=c, expected_version=None, data={"notes": "x"}
        )
    with pytest.raises(NotFound):
        services.contract_update(
            actor=org.wang_fang, contract=c, expected_version=None, data={"notes": "x"}
        )
    # The manager sees the team's contract read-only (edit scope own).
    with pytest.raises(PermissionDenied):
        services.contract_update(
            actor=org.li_na, contract=c, expected_version=None, data={"notes": "x"}
        )


def test_number_change_is_checked(org):
    c1 = contract_of(org.zhang_wei)
    c2 = contract_of(org.zhang_wei)
    with pytest.raises(ValidationFailed, match="已被使用"):
        services.contract_update(
            actor=org.zhang_wei, contract=c2, expected_version=None, data={"number": c1.number}
        )
    services.contract_update(
        actor=org.zhang_wei, contract=c2, expected_version=None, data={"number": "HT-SPECIAL-9"}
    )
    assert [h.title for h in search(actor=org.zhang_wei, q="SPECIAL")] == [
        f"HT-SPECIAL-9 {c2.name}"
    ]


# ----------------------------------------------------------------- status machine


def test_status_machine_happy_path_with_timeline(org):
    c = contract_of(org.zhang_wei)
    services.contract_submit(actor=org.zhang_wei, contract=c)
    assert c.status == ContractStatus.PENDING_APPROVAL
    with pytest.raises(PermissionDenied):  # nobody approves their own contract
        services.contract_activate(actor=org.zhang_wei, contract=c)
    services.contract_activate(actor=org.li_na, contract=c)
    assert Contract.objects.get(pk=c.pk).status == ContractStatus.ACTIVE
    services.contract_close(actor=org.zhang_wei, contract=c, reason="交付完成")
    c.refresh_from_db()
    assert (c.status, c.status_reason) == (ContractStatus.CLOSED, "交付完成")
    kinds = list(
        TimelineEvent.objects.filter(customer=c.customer, kind="contract_status")
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert kinds == [
        f"合同 {c.number}：草稿 → 审批中",
        f"合同 {c.number}：审批中 → 执行中",
        f"合同 {c.number}：执行中 → 已结束（交付完成）",
    ]


def test_director_and_admin_may_approve_other_regions_may_not(org):
    for approver in (org.director, org.admin):
        c = contract_of(org.zhang_wei)
        services.contract_submit(actor=org.zhang_wei, contract=c)
        services.contract_activate(actor=approver, contract=c)
        assert c.status == ContractStatus.ACTIVE
    c = contract_of(org.zhang_wei)
    services.contract_submit(actor=org.zhang_wei, contract=c)
    with pytest.raises(NotFound):
        services.contract_activate(actor=org.huang_qiang, contract=c)
    with pytest.raises(PermissionDenied):  # finance sees it, approval is not theirs
        services.contract_activate(actor=org.liu_yang, contract=c)


def test_approval_flow_can_drive_activation(org):
    from crm.contracts import policies

    c = contract_of(org.zhang_wei)
    services.contract_submit(actor=org.zhang_wei, contract=c)
    policies.approval_gate_set("activate", lambda contract: True)
    try:
        with pytest.raises(PermissionDenied):
            services.contract_activate(actor=org.li_na, contract=c)
        services.contract_activate(actor=org.li_na, contract=c, by_approval=True)
    finally:
        policies.approval_gate_set("activate", None)
    assert c.status == ContractStatus.ACTIVE
    entry = AuditEntry.objects.filter(entity="contract").latest("seq")
    assert entry.changes["by_approval"] is True


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "activate"),
        ("draft", "close"),
        ("draft", "withdraw"),
        ("pending_approval", "submit"),
        ("pending_approval", "close"),
        ("active", "submit"),
        ("active", "withdraw"),
        ("closed", "cancel"),
        ("cancelled", "submit"),
    ],
)
def test_transitions_outside_the_table_are_refused(org, status, action):
    c = contract_of(org.zhang_wei)
    Contract.objects.filter(pk=c.pk).update(status=status)
    c.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        services.contract_transition(actor=org.admin, contract=c, action=action, reason="r")
    assert exc.value.field == "status"


def test_unknown_action_and_submit_requirements(org):
    c = contract_of(org.zhang_wei, signed_on="")
    with pytest.raises(ValidationFailed) as exc:
        services.contract_transition(actor=org.zhang_wei, contract=c, action="approve")
    assert exc.value.field == "action"
    with pytest.raises(ValidationFailed) as exc:
        services.contract_submit(actor=org.zhang_wei, contract=c)
    assert exc.value.field == "signed_on"


def test_cancel_needs_a_reason_and_withdraw_reopens_editing(org):
    c = contract_of(org.zhang_wei)
    services.contract_submit(actor=org.zhang_wei, contract=c)
    with pytest.raises(ValidationFailed, match="金额"):
        services.contract_update(
            actor=org.zhang_wei, contract=c, expected_version=None, data={"amount": "1"}
        )
    services.contract_update(
        actor=org.zhang_wei, contract=c, expected_version=None, data={"notes": "等待审批"}
    )
    services.contract_withdraw(actor=org.zhang_wei, contract=c, reason="金额要改")
    services.contract_update(
        actor=org.zhang_wei, contract=c, expected_version=None, data={"amount": "1200000"}
    )
    with pytest.raises(ValidationFailed) as exc:
        services.contract_cancel(actor=org.zhang_wei, contract=c)
    assert exc.value.field == "reason"
    services.contract_cancel(actor=org.zhang_wei, contract=c, reason="客户取消采购")
    assert c.status == ContractStatus.CANCELLED
    with pytest.raises(ValidationFailed):
        services.contract_update(
            actor=org.zhang_wei, contract=c, expected_version=None, data={"notes": "x"}
        )


def test_stale_transition_is_refused(org):
    c = contract_of(org.zhang_wei)
    with pytest.raises(StaleVersion):
        services.contract_submit(actor=org.zhang_wei, contract=c, expected_version=c.version - 1)


# ----------------------------------------------------------------- delete


def test_delete_to_recycle_bin_and_restore(org):
    c = contract_of(org.zhang_wei, name="待删除的合同")
    assert search(actor=org.zhang_wei, q="待删除")
    services.contract_delete(actor=org.zhang_wei, contract=c)
    assert not Contract.objects.filter(pk=c.pk).exists()
    assert Contract.all_objects.get(pk=c.pk).deleted_at is not None
    assert not search(actor=org.zhang_wei, q="待删除")
    record_restore(actor=org.zhang_wei, entity_key="contract", pk=c.pk)
    assert Contract.objects.filter(pk=c.pk).exists()
    assert search(actor=org.zhang_wei, q="待删除")


def test_contract_with_payments_is_cancelled_not_deleted(org):
    c = active_contract(org.zhang_wei, org.li_na)
    services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "1000"})
    with pytest.raises(ValidationFailed, match="作废"):
        services.contract_delete(actor=org.zhang_wei, contract=c)


# ----------------------------------------------------------------- plans


def test_generate_equal_instalments_with_remainder_on_the_last():
    rows = services.plan_generate(
        total=Decimal("100000.00"), count=3, first_due=dt.date(2026, 1, 31), months_between=1
    )
    assert [r["amount"] for r in rows] == [
        Decimal("33333.33"),
        Decimal("33333.33"),
        Decimal("33333.34"),
    ]
    assert [r["due_date"] for r in rows] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),  # the month's last day
        dt.date(2026, 3, 31),
    ]
    quarterly = services.plan_generate(
        total=Decimal("90"), count=2, first_due=dt.date(2026, 11, 15), months_between=3
    )
    assert [r["due_date"] for r in quarterly] == [dt.date(2026, 11, 15), dt.date(2027, 2, 15)]


@pytest.mark.parametrize(("count", "months"), [(0, 1), (61, 1), (3, -1), (3, 25)])
def test_generate_bounds(count, months):
    with pytest.raises(ValidationFailed):
        services.plan_generate(
            total=Decimal("100"), count=count, first_due=dt.date(2026, 1, 1), months_between=months
        )


def _plan(contract, actor, *rows):
    return services.contract_plan_set(
        actor=actor,
        contract=contract,
        expected_version=None,
        instalments=[{"due_date": d, "amount": a} for d, a in rows],
    )


def test_plan_sum_may_not_exceed_the_contract_amount(org):
    c = contract_of(org.zhang_wei, amount="1000000")
    plans = _plan(c, org.zhang_wei, ("2026-12-01", "300000"), ("2027-03-01", "700000"))
    assert [(p.seq, p.amount) for p in plans] == [(1, Decimal("300000")), (2, Decimal("700000"))]
    with pytest.raises(ValidationFailed) as exc:
        _plan(c, org.zhang_wei, ("2026-12-01", "300000"), ("2027-03-01", "700000.01"))
    assert exc.value.field == "instalments"
    assert "¥1,000,000.01" in exc.value.message and "¥1,000,000.00" in exc.value.message
    # The contract amount cannot drop below the plan either.
    with pytest.raises(ValidationFailed, match="回款计划合计"):
        services.contract_update(
            actor=org.zhang_wei, contract=c, expected_version=None, data={"amount": "900000"}
        )


def test_plan_rows_are_checked_one_by_one(org):
    c = contract_of(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        _plan(c, org.zhang_wei, ("2026-12-01", "1000"), ("", "2000"))
    assert exc.value.field == "instalments.1.due_date"
    assert exc.value.message.startswith("第 2 期")
    with pytest.raises(ValidationFailed) as exc:
        _plan(c, org.zhang_wei, ("2026-12-01", "一千"))
    assert exc.value.field == "instalments.0.amount"


def test_plan_generate_through_the_service_and_plan_edit_rules(org):
    c = contract_of(org.zhang_wei, amount="1280000")
    plans = services.contract_plan_generate(
        actor=org.zhang_wei, contract=c, expected_version=c.version, count=4, first_due=TODAY
    )
    assert sum(p.amount for p in plans) == Decimal("1280000")
    # Stale plan edit.
    with pytest.raises(StaleVersion):
        services.contract_plan_generate(
            actor=org.zhang_wei,
            contract=c,
            expected_version=c.version - 1,
            count=2,
            first_due=TODAY,
        )
    services.contract_submit(actor=org.zhang_wei, contract=c)
    with pytest.raises(ValidationFailed, match="不能修改回款计划"):
        _plan(c, org.zhang_wei, (TODAY, "1"))
    with pytest.raises(PermissionDenied):
        _plan(c, org.liu_yang, (TODAY, "1"))


def test_instalment_with_payments_can_neither_go_nor_drop_below_received(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    plans = _plan(c, org.zhang_wei, (TODAY, "40000"), (TODAY + dt.timedelta(days=90), "60000"))
    services.payment_create(
        actor=org.zhang_wei, contract=c, data={"amount": "30000"}, plan=plans[1]
    )
    with pytest.raises(ValidationFailed, match="第 2 期已有回款"):
        _plan(c, org.zhang_wei, (TODAY, "40000"))
    with pytest.raises(ValidationFailed) as exc:
        _plan(c, org.zhang_wei, (TODAY, "40000"), (TODAY, "20000"))
    assert exc.value.field == "instalments.1.amount"
    # Moving the date of a paid instalment keeps its payment.
    kept = _plan(c, org.zhang_wei, (TODAY, "40000"), (TODAY + dt.timedelta(days=120), "60000"))
    assert kept[1].pk == plans[1].pk and kept[1].received == Decimal("30000")


# ----------------------------------------------------------------- payments and receivables


def test_payments_only_against_a_contract_in_force(org):
    c = contract_of(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1000"})
    assert exc.value.field == "contract"
    assert "执行中" in exc.value.message


def test_over_payment_is_refused_with_the_balance(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    plans = _plan(c, org.zhang_wei, (TODAY, "30000"), (TODAY + dt.timedelta(days=30), "70000"))
    services.payment_create(
        actor=org.zhang_wei, contract=c, data={"amount": "20000"}, plan=plans[0]
    )
    with pytest.raises(ValidationFailed) as exc:
        services.payment_create(
            actor=org.zhang_wei, contract=c, data={"amount": "10000.01"}, plan=plans[0]
        )
    assert exc.value.field == "amount"
    assert "第 1 期未收金额 ¥10,000.00" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "80000.01"})
    assert "¥80,000.00" in exc.value.message
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "80000"})
    with pytest.raises(ValidationFailed, match="已全部回款"):
        services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": ""}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "100", "received_on": "明天"}, "received_on"),
        (
            {"amount": "100", "received_on": (TODAY + dt.timedelta(days=1)).isoformat()},
            "received_on",
        ),
        ({"amount": "100", "reference": "x" * 101}, "reference"),
    ],
)
def test_bad_payment_input(org, data, field):
    c = active_contract(org.zhang_wei, org.li_na)
    with pytest.raises(ValidationFailed) as exc:
        services.payment_create(actor=org.zhang_wei, contract=c, data=data)
    assert exc.value.field == field


def test_instalment_of_another_contract_is_refused(org):
    c1 = active_contract(org.zhang_wei, org.li_na)
    c2 = active_contract(org.zhang_wei, org.li_na)
    [other] = _plan(c2, org.zhang_wei, (TODAY, "1000"))
    with pytest.raises(ValidationFailed) as exc:
        services.payment_create(actor=org.zhang_wei, contract=c1, data={"amount": "10"}, plan=other)
    assert exc.value.field == "plan"


def test_unassigned_payments_settle_the_earliest_instalments_first(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    _plan(
        c,
        org.zhang_wei,
        (TODAY + dt.timedelta(days=60), "50000"),
        (TODAY - dt.timedelta(days=10), "30000"),  # seq 2, but due first
        (TODAY + dt.timedelta(days=90), "20000"),
    )
    services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "45000"})
    received = dict(PaymentPlan.objects.filter(contract=c).values_list("seq", "received"))
    assert received == {1: Decimal("15000"), 2: Decimal("30000"), 3: Decimal("0")}
    payment = services.payment_create(
        actor=org.liu_yang,
        contract=c,
        data={"amount": "20000"},
        plan=PaymentPlan.objects.get(contract=c, seq=3),
    )
    received = dict(PaymentPlan.objects.filter(contract=c).values_list("seq", "received"))
    assert received == {1: Decimal("15000"), 2: Decimal("30000"), 3: Decimal("20000")}
    services.payment_delete(actor=org.liu_yang, payment=payment)
    received = dict(PaymentPlan.objects.filter(contract=c).values_list("seq", "received"))
    assert received[3] == Decimal("0")
    record_restore(actor=org.liu_yang, entity_key="payment", pk=payment.pk)
    assert PaymentPlan.objects.get(contract=c, seq=3).received == Decimal("20000")
    event = TimelineEvent.objects.filter(customer=c.customer, kind="payment_received").first()
    assert event is not None and "20000" not in event.summary


def test_payment_rights(org):
    c = active_contract(org.zhang_wei, org.li_na)
    # Reps record payments on their own contracts, finance on all; managers only look.
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1000"})
    services.payment_create(actor=org.liu_yang, contract=c, data={"amount": "1000"})
    with pytest.raises(PermissionDenied):
        services.payment_create(actor=org.li_na, contract=c, data={"amount": "1000"})
    with pytest.raises(PermissionDenied):
        services.payment_create(actor=org.chen_jing, contract=c, data={"amount": "1000"})
    with pytest.raises(NotFound):
        services.payment_create(actor=org.wang_fang, contract=c, data={"amount": "1000"})
    p = services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1000"})
    with pytest.raises(PermissionDenied):  # a wrong entry is undone by finance
        services.payment_delete(actor=org.zhang_wei, payment=p)
    services.payment_delete(actor=org.liu_yang, payment=p)


# ----------------------------------------------------------------- attachments


class Upload:
    def __init__(self, name, data, content_type="application/octet-stream"):
        self.name, self.data, self.content_type = name, data, content_type
        self.size = len(data)

    def read(self, n=-1):
        return self.data if n < 0 else self.data[:n]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def test_attachments_are_sniffed_and_limited(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c = contract_of(org.zhang_wei)
    att = services.attachment_add(
        actor=org.zhang_wei, contract=c, upload=Upload("合同扫描件.pdf", PDF)
    )
    assert (att.content_type, att.size, att.name) == ("application/pdf", len(PDF), "合同扫描件.pdf")
    for upload in (
        Upload("invoice.pdf.exe", b"MZ\x90\x00"),
        Upload("合同.pdf", b"just text", "application/pdf"),
        Upload("old.doc", b"not ole2", "application/msword"),
        Upload("empty.pdf", b""),
    ):
        with pytest.raises(ValidationFailed) as exc:
            services.attachment_add(actor=org.zhang_wei, contract=c, upload=upload)
        assert exc.value.field == "file"
    setting_set(actor=org.admin, key="contracts.settings", value={"max_attachment_mb": 1})
    with pytest.raises(ValidationFailed, match="超过 1 MB"):
        services.attachment_add(
            actor=org.zhang_wei, contract=c, upload=Upload("big.pdf", PDF + b"0" * 1024 * 1024)
        )
    with pytest.raises(PermissionDenied):
        services.attachment_add(actor=org.liu_yang, contract=c, upload=Upload("a.pdf", PDF))
    services.contract_submit(actor=org.zhang_wei, contract=c)
    with pytest.raises(ValidationFailed, match="不能删除"):
        services.attachment_delete(actor=org.zhang_wei, attachment=att)
    services.contract_withdraw(actor=org.zhang_wei, contract=c)
    services.attachment_delete(actor=org.zhang_wei, attachment=att)
    assert not c.attachments.exists()


# ----------------------------------------------------------------- settings


def test_settings_update_is_admin_only_and_validated(org):
    with pytest.raises(PermissionDenied):
        services.contract_settings_update(actor=org.li_na, data={"number_prefix": "X"})
    with pytest.raises(ValidationFailed) as exc:
        services.contract_settings_update(actor=org.admin, data={"number_prefix": "合同"})
    assert exc.value.field == "number_prefix"
    with pytest.raises(ValidationFailed) as exc:
        services.contract_settings_update(actor=org.admin, data={"number_digits": 2})
    assert exc.value.field == "number_digits"
    value = services.contract_settings_update(actor=org.admin, data={"number_prefix": "CT"})
    assert value["number_prefix"] == "CT"
    assert contract_of(org.zhang_wei).number == f"CT-{YEAR}-0001"


# ----------------------------------------------------------------- handover and demo


def test_contracts_move_with_their_customer_in_a_handover(org):
    from crm.customers.services import handover_execute, handover_undo

    c = contract_of(org.zhang_wei)
    batch = handover_execute(actor=org.admin, from_user=org.zhang_wei, to_users=[org.li_na])
    c.refresh_from_db()
    assert c.owner == org.li_na
    handover_undo(actor=org.admin, batch_id=batch.pk)
    c.refresh_from_db()
    assert c.owner == org.zhang_wei


def test_demo_step_is_idempotent(org):
    from crm.contracts.demo import demo_contracts
    from crm.contracts.models import Payment

    for owner in (
        org.zhang_wei,
        org.wang_fang,
        org.zhang_wei,
        org.wang_fang,
        org.li_na,
        org.zhang_wei,
        org.wang_fang,
    ):
        won_opportunity(owner, customer_of(owner))
    users = {
        "admin": org.admin,
        "zhang.wei": org.zhang_wei,
        "wang.fang": org.wang_fang,
        "li.na": org.li_na,
        "liu.yang": org.liu_yang,
    }
    report = demo_contracts(users)
    assert "7 created" in report
    statuses = sorted(Contract.objects.values_list("status", flat=True))
    assert statuses.count("active") == 5
    assert "draft" in statuses and "pending_approval" in statuses
    assert PaymentPlan.objects.count() == 21
    assert Payment.objects.exists()
    assert all(p.received <= p.amount for p in PaymentPlan.objects.all())
    again = demo_contracts(users)
    assert "0 created" in again and Contract.objects.count() == 7
