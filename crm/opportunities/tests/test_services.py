"""Opportunity services: create/update/delete, contacts, timeline, audit, search, pipelines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.audit.models import AuditEntry
from crm.core.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from crm.core.recyclebin import record_restore
from crm.opportunities import services
from crm.opportunities.models import Opportunity, Pipeline, Stage, StageKind
from crm.opportunities.selectors import opportunity_filter
from crm.opportunities.tests.factories import contact, customer, opportunity, stage
from crm.search.models import SearchEntry
from crm.search.selectors import search
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def test_create_writes_timeline_audit_search(org):
    opp = opportunity(org.zhang_wei, name="苏州精诚视觉检测项目", amount="86000")
    event = TimelineEvent.objects.get(customer_id=opp.customer_id, kind="opportunity_created")
    assert "苏州精诚视觉检测项目" in event.summary
    assert event.ref_entity == "opportunity" and event.ref_id == str(opp.pk)
    assert AuditEntry.objects.filter(
        entity="opportunity", object_id=str(opp.pk), action="create"
    ).exists()
    assert SearchEntry.objects.filter(entity="opportunity", object_id=opp.pk).exists()
    hits = search(actor=org.zhang_wei, q="精诚视觉", entities=["opportunity"])
    assert [h.id for h in hits] == [opp.pk]
    assert search(actor=org.wang_fang, q="精诚视觉", entities=["opportunity"]) == []


def test_create_needs_rights_and_a_visible_customer(org):
    east = customer(org.zhang_wei)
    with pytest.raises(NotFound):
        services.opportunity_create(actor=org.wang_fang, customer=east, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.opportunity_create(actor=org.chen_jing, customer=east, data={"name": "x"})
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(actor=org.zhang_wei, customer=east, data={"name": " "})
    assert exc.value.field == "name"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("120,000.50", Decimal("120000.50")),
        ("¥8000", Decimal("8000.00")),
        ("-1", None),
        ("abc", None),
        ("1e20", None),
    ],
)
def test_amount_cleaning(org, value, ok):
    if ok is None:
        with pytest.raises(ValidationFailed) as exc:
            opportunity(org.zhang_wei, amount=value)
        assert exc.value.field == "amount"
    else:
        assert opportunity(org.zhang_wei, amount=value).amount == ok


def test_create_in_later_stage_checks_required_fields(org):
    cust = customer(org.zhang_wei)
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(
            actor=org.zhang_wei, customer=cust, data={"name": "x", "stage": stage("商务谈判")}
        )
    fields = {e["field"] for e in exc.value.errors}
    assert {"amount", "expected_close_date", "contacts"} <= fields
    person = contact(org.zhang_wei, cust)
    opp = services.opportunity_create(
        actor=org.zhang_wei,
        customer=cust,
        data={
            "name": "x",
            "stage": stage("商务谈判").pk,
            "amount": 5,
            "expected_close_date": "2027-05-01",
        },
        contacts=[(person, "决策人")],
    )
    assert opp.stage.name == "商务谈判" and opp.probability == 60


def test_contact_of_another_customer_refused(org):
    a = customer(org.zhang_wei, "上海宏达软件科技有限公司")
    b = customer(org.zhang_wei, "苏州精诚精密机械有限公司")
    with pytest.raises(ValidationFailed) as exc:
        opportunity(org.zhang_wei, a, contacts=[(contact(org.zhang_wei, b), "采购")])
    assert exc.value.field == "contacts"


def test_update_versioned_and_audited(org):
    opp = opportunity(org.zhang_wei)
    services.opportunity_update(
        actor=org.zhang_wei,
        opportunity=opp,
        expected_version=opp.version,
        data={"amount": "300000"},
    )
    assert opp.amount == Decimal("300000.00")
    entry = AuditEntry.objects.filter(entity="opportunity", action="update").latest("seq")
    assert entry.changes["amount"] == ["0.00", "300000.00"]
    with pytest.raises(StaleVersion):
        services.opportunity_update(
            actor=org.zhang_wei, opportunity=opp, expected_version=1, data={"amount": "1"}
        )


def test_update_cannot_clear_a_field_the_stage_required(org):
    opp = opportunity(org.zhang_wei, expected_close_date="2027-01-01")
    services.opportunity_move(
        actor=org.zhang_wei,
        opportunity=opp,
        stage=stage("需求确认"),
        expected_version=None,
        checklist=[0],
    )
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_update(
            actor=org.zhang_wei,
            opportunity=opp,
            expected_version=None,
            data={"expected_close_date": ""},
        )
    assert exc.value.field == "expected_close_date"


def test_update_probability_manual_then_back_to_stage(org):
    opp = opportunity(org.zhang_wei)
    services.opportunity_update(
        actor=org.zhang_wei, opportunity=opp, expected_version=None, data={"probability": 45}
    )
    assert (opp.probability, opp.probability_manual) == (45, True)
    services.opportunity_update(
        actor=org.zhang_wei, opportunity=opp, expected_version=None, data={"probability": None}
    )
    assert (opp.probability, opp.probability_manual) == (10, False)


def test_owner_transfer_and_manager_read_only(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(PermissionDenied):
        services.opportunity_update(
            actor=org.li_na, opportunity=opp, expected_version=None, data={"name": "y"}
        )
    services.opportunity_update(
        actor=org.admin, opportunity=opp, expected_version=None, owner=org.wang_fang
    )
    opp.refresh_from_db()
    assert opp.owner == org.wang_fang


def test_delete_to_recycle_bin_and_restore(org):
    opp = opportunity(org.zhang_wei)
    services.opportunity_delete(actor=org.zhang_wei, opportunity=opp)
    assert not Opportunity.objects.filter(pk=opp.pk).exists()
    assert Opportunity.all_objects.filter(pk=opp.pk, deleted_at__isnull=False).exists()
    assert not SearchEntry.objects.filter(entity="opportunity", object_id=opp.pk).exists()
    record_restore(actor=org.zhang_wei, entity_key="opportunity", pk=opp.pk)
    assert Opportunity.objects.filter(pk=opp.pk).exists()
    assert SearchEntry.objects.filter(entity="opportunity", object_id=opp.pk).exists()


def test_timeline_kinds_for_stage_won_lost(org):
    cust = customer(org.zhang_wei)
    a = opportunity(org.zhang_wei, cust, name="A", expected_close_date="2027-01-01")
    services.opportunity_move(
        actor=org.zhang_wei,
        opportunity=a,
        stage=stage("需求确认"),
        expected_version=None,
        checklist=[0],
    )
    b = opportunity(org.zhang_wei, cust, name="B")
    services.opportunity_move(
        actor=org.zhang_wei,
        opportunity=b,
        stage=stage("输单"),
        expected_version=None,
        lost_reason="预算取消",
    )
    kinds = list(TimelineEvent.objects.filter(customer_id=cust.pk).values_list("kind", flat=True))
    assert kinds.count("opportunity_created") == 2
    assert "opportunity_stage" in kinds and "lost" in kinds
    lost = TimelineEvent.objects.get(customer_id=cust.pk, kind="lost")
    assert "预算取消" in lost.summary


def test_contacts_with_roles(org):
    cust = customer(org.zhang_wei)
    person = contact(org.zhang_wei, cust)
    opp = opportunity(org.zhang_wei, cust)
    services.opportunity_contact_set(
        actor=org.zhang_wei, opportunity=opp, contact=person, role="技术评估"
    )
    services.opportunity_contact_set(
        actor=org.zhang_wei, opportunity=opp, contact=person, role="决策人"
    )
    assert list(opp.contact_roles.values_list("role", flat=True)) == ["决策人"]
    services.opportunity_contact_remove(actor=org.zhang_wei, opportunity=opp, contact_id=person.pk)
    assert not opp.contact_roles.exists()
    with pytest.raises(NotFound):
        services.opportunity_contact_remove(
            actor=org.zhang_wei, opportunity=opp, contact_id=person.pk
        )


def test_last_contact_kept_when_stage_requires_one(org):
    cust = customer(org.zhang_wei)
    person = contact(org.zhang_wei, cust)
    opp = opportunity(
        org.zhang_wei,
        cust,
        amount=1,
        stage=stage("方案报价"),
        expected_close_date="2027-01-01",
        contacts=[(person, "")],
    )
    with pytest.raises(ValidationFailed):
        services.opportunity_contact_remove(
            actor=org.zhang_wei, opportunity=opp, contact_id=person.pk
        )


def test_checklist_tick(org):
    opp = opportunity(org.zhang_wei)
    first = stage("初步接洽")
    services.opportunity_checklist_tick(
        actor=org.zhang_wei, opportunity=opp, stage=first, index=0, done=True
    )
    assert opp.checklist_done == {str(first.pk): [0]}
    services.opportunity_checklist_tick(
        actor=org.zhang_wei, opportunity=opp, stage=first.pk, index=0, done=False
    )
    assert opp.checklist_done == {str(first.pk): []}
    with pytest.raises(ValidationFailed):
        services.opportunity_checklist_tick(
            actor=org.zhang_wei, opportunity=opp, stage=first, index=9, done=True
        )


# ----------------------------------------------------------------- pipelines


def test_pipeline_admin_only(org):
    with pytest.raises(PermissionDenied):
        services.pipeline_create(actor=org.li_na, data={"name": "渠道"})


def test_pipeline_create_with_default_stages_and_default_flag(org):
    p = services.pipeline_create(actor=org.admin, data={"name": "渠道", "is_default": True})
    kinds = [s.kind for s in services.pipeline_stages(p)]
    assert kinds == ["open", "won", "lost"]
    assert services.pipeline_default() == p
    assert Pipeline.objects.filter(is_default=True).count() == 1


def test_pipeline_needs_open_won_lost(org):
    with pytest.raises(ValidationFailed):
        services.pipeline_create(
            actor=org.admin, data={"name": "坏流程"}, stages=[{"name": "只有一步", "kind": "open"}]
        )


def test_stage_rules_validated(org):
    p = Pipeline.objects.get(name="续约")
    with pytest.raises(ValidationFailed) as exc:
        services.stage_create(
            actor=org.admin, pipeline=p, data={"name": "x", "required_fields": ["nonsense"]}
        )
    assert exc.value.field == "required_fields"
    s = services.stage_create(
        actor=org.admin,
        pipeline=p,
        data={
            "name": "方案评审",
            "probability": 45,
            "time_limit_days": 7,
            "required_fields": ["amount"],
            "checklist": "评审会已开\n\n纪要已发",
        },
    )
    assert s.checklist == ["评审会已开", "纪要已发"]
    names = [x.name for x in services.pipeline_stages(p)]
    assert names.index("方案评审") < names.index("赢单")


def test_stage_with_open_opportunities_cannot_be_deactivated_or_deleted(org):
    opp = opportunity(org.zhang_wei)
    with pytest.raises(ValidationFailed):
        services.stage_update(actor=org.admin, stage=opp.stage, data={"is_active": False})
    with pytest.raises(ValidationFailed):
        services.stage_delete(actor=org.admin, stage=opp.stage)
    with pytest.raises(ValidationFailed):
        services.stage_update(actor=org.admin, stage=opp.stage, data={"kind": "won"})


def test_pipeline_admin_save_reorders_and_creates(org):
    p = Pipeline.objects.get(name="续约")
    stages = services.pipeline_stages(p)
    rows = [
        {"id": s.pk, "name": s.name, "kind": s.kind, "probability": s.probability}
        for s in reversed(stages)
    ]
    rows.insert(0, {"name": "新阶段", "kind": "open", "probability": 5})
    services.pipeline_admin_save(
        actor=org.admin, pipeline=p, data={"description": "改"}, stages=rows
    )
    names = [s.name for s in services.pipeline_stages(p)]
    assert names[0] == "新阶段"
    assert names[-2:] == ["赢单", "输单"]  # closed stages always last
    p.refresh_from_db()
    assert p.description == "改"


def test_filters_and_totals(org):
    cust = customer(org.zhang_wei)
    opportunity(
        org.zhang_wei,
        cust,
        name="A",
        amount=100000,
        probability=50,
        expected_close_date="2027-03-10",
    )
    opportunity(org.zhang_wei, cust, name="B", amount=20000, expected_close_date="2027-04-01")
    from crm.opportunities.selectors import opportunity_totals

    t = opportunity_totals(actor=org.zhang_wei, filters={})
    assert (t.count, t.amount, t.weighted) == (2, Decimal("120000.00"), Decimal("52000.00"))
    assert opportunity_filter(org.zhang_wei, {"close_month": "2027-03"}).count() == 1
    assert opportunity_filter(org.zhang_wei, {"amount_min": "50000"}).count() == 1
    assert opportunity_filter(org.zhang_wei, {"amount_max": "50000"}).count() == 1
    assert opportunity_filter(org.zhang_wei, {"stage": stage("初步接洽").pk}).count() == 2
    assert opportunity_filter(org.li_na, {"owner": "team"}).count() == 2
    assert opportunity_filter(org.wang_fang, {}).count() == 0


def test_stage_model_kinds(org):
    assert Stage.objects.filter(kind=StageKind.WON).count() == 2
