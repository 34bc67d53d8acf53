"""The stage rules: forward needs required fields and checklists, back is free, won/lost close."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.core.errors import PermissionDenied, StaleVersion, ValidationFailed
from crm.customfields.services import custom_field_create
from crm.opportunities.models import OpportunityStatus, Pipeline, StageHistory
from crm.opportunities.services import opportunity_move, pipeline_default, stage_update
from crm.opportunities.tests.factories import contact, customer, opportunity, stage

pytestmark = pytest.mark.django_db


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e["field"] for e in exc.value.errors]


def test_default_pipelines_exist():
    names = list(Pipeline.objects.values_list("name", flat=True))
    assert {"新客户", "续约"} <= set(names)
    default = pipeline_default()
    assert default.name == "新客户"
    kinds = [s.kind for s in default.stages.order_by("order")]
    assert kinds[-2:] == ["won", "lost"]


def test_create_defaults_to_first_open_stage_with_its_probability(org):
    opp = opportunity(org.zhang_wei)
    assert opp.stage.name == "初步接洽"
    assert opp.probability == 10
    assert opp.status == OpportunityStatus.OPEN
    assert opp.owner == org.zhang_wei
    assert opp.currency == "CNY"
    assert StageHistory.objects.filter(opportunity=opp, from_stage=None).count() == 1


def test_forward_refused_names_each_missing_field_and_item(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move(
            actor=org.zhang_wei,
            opportunity=opp,
            stage=stage("方案报价"),
            expected_version=opp.version,
        )
    fields = _fields(exc)
    # Entered 需求确认 (date) and 方案报价 (amount, contacts); left 初步接洽 and 需求确认.
    assert "expected_close_date" in fields
    assert "amount" in fields
    assert "contacts" in fields
    first, second = stage("初步接洽"), stage("需求确认")
    assert f"checklist.{first.pk}.0" in fields
    assert f"checklist.{second.pk}.0" in fields and f"checklist.{second.pk}.1" in fields
    assert "方案报价" in exc.value.message and "金额" in exc.value.message
    opp.refresh_from_db()
    assert opp.stage.name == "初步接洽"  # nothing saved


def test_forward_accepted_after_filling_on_the_way(org):
    cust = customer(org.zhang_wei)
    person = contact(org.zhang_wei, cust)
    opp = opportunity(org.zhang_wei, cust)
    first, second = stage("初步接洽"), stage("需求确认")
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("方案报价").pk,
        expected_version=opp.version,
        data={
            "amount": "120,000",
            "expected_close_date": "2027-03-31",
            "contacts": [(person, "决策人")],
        },
        checklist=[0],
        checklists={second.pk: [0, 1]},
    )
    opp.refresh_from_db()
    assert opp.stage.name == "方案报价"
    assert opp.amount == Decimal("120000.00")
    assert opp.expected_close_date == dt.date(2027, 3, 31)
    assert opp.probability == 40
    assert opp.contact_roles.get().role == "决策人"
    assert opp.checklist_done[str(first.pk)] == [0]
    hist = opp.stage_history.order_by("id").last()
    assert hist.from_stage == first and hist.to_stage.name == "方案报价"
    assert hist.actor == org.zhang_wei


def test_back_is_always_allowed(org):
    opp = opportunity(org.zhang_wei, amount=1000, expected_close_date="2027-01-01")
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("需求确认"),
        expected_version=opp.version,
        checklist=[0],
    )
    opportunity_move(
        actor=org.zhang_wei, opportunity=opp, stage=stage("初步接洽"), expected_version=None
    )
    assert opp.stage.name == "初步接洽"
    assert opp.probability == 10


def test_lost_needs_reason_and_closes(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move(
            actor=org.zhang_wei, opportunity=opp, stage=stage("输单"), expected_version=None
        )
    assert _fields(exc) == ["lost_reason"]
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("输单"),
        expected_version=None,
        lost_reason="价格高于竞争对手",
    )
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.LOST
    assert opp.closed_at is not None
    assert opp.probability == 0
    assert opp.lost_reason == "价格高于竞争对手"


def test_won_closes_and_reopen_clears(org):
    cust = customer(org.zhang_wei)
    opp = opportunity(org.zhang_wei, cust, amount=50000, expected_close_date="2027-02-01")
    opp.contact_roles.create(contact=contact(org.zhang_wei, cust), role="采购")
    ticks = {s.pk: list(range(len(s.checklist))) for s in opp.pipeline.stages.all()}
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("赢单"),
        expected_version=None,
        checklists=ticks,
    )
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.WON and opp.probability == 100
    assert opp.closed_at is not None
    cust.refresh_from_db()
    assert cust.last_won_at is not None and cust.status == "won"
    opportunity_move(
        actor=org.zhang_wei, opportunity=opp, stage=stage("商务谈判"), expected_version=None
    )
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.OPEN and opp.closed_at is None
    assert opp.probability == 60


def test_manual_probability_survives_open_moves(org):
    opp = opportunity(org.zhang_wei, probability=35, expected_close_date="2027-01-01")
    assert opp.probability == 35 and opp.probability_manual
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("需求确认"),
        expected_version=None,
        checklist=[0],
    )
    assert opp.probability == 35
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("初步接洽"),
        expected_version=None,
        data={"probability": None},
    )
    assert opp.probability == 10 and not opp.probability_manual


def test_custom_required_field(org):
    custom_field_create(
        actor=org.admin, entity="opportunity", key="budget_ok", label="预算已批", type="boolean"
    )
    st = stage("需求确认")
    stage_update(actor=org.admin, stage=st, data={"required_fields": ["custom.budget_ok"]})
    opp = opportunity(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move(
            actor=org.zhang_wei, opportunity=opp, stage=st, expected_version=None, checklist=[0]
        )
    assert _fields(exc) == ["custom.budget_ok"]
    assert "预算已批" in exc.value.message
    opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=st,
        expected_version=None,
        checklist=[0],
        data={"custom": {"budget_ok": True}},
    )
    assert opp.custom == {"budget_ok": True}


def test_stale_version_refused(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(StaleVersion):
        opportunity_move(
            actor=org.zhang_wei,
            opportunity=opp,
            stage=stage("输单"),
            expected_version=opp.version - 1 if opp.version > 1 else 99,
            lost_reason="x",
        )


def test_stage_of_other_pipeline_refused(org):
    opp = opportunity(org.zhang_wei)
    other = Pipeline.objects.get(name="续约").stages.first()
    with pytest.raises(ValidationFailed) as exc:
        opportunity_move(actor=org.zhang_wei, opportunity=opp, stage=other, expected_version=None)
    assert _fields(exc) == ["stage"]


def test_manager_cannot_move_team_opportunity_by_default(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(PermissionDenied):
        opportunity_move(
            actor=org.li_na,
            opportunity=opp,
            stage=stage("输单"),
            expected_version=None,
            lost_reason="x",
        )
