"""Lead services: cleaning, duplicates, owners, status, claim, assign, delete, history."""

from __future__ import annotations

import pytest

from crm.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from crm.leads.models import Lead, LeadAssignment, LeadEvent, LeadStatus
from crm.leads.regions import province_normalize
from crm.leads.services import (
    lead_assign,
    lead_assign_bulk,
    lead_claim,
    lead_clean,
    lead_create,
    lead_delete,
    lead_note_add,
    lead_release,
    lead_status_change,
    lead_update,
)
from crm.leads.tests.factories import make_lead, make_rule, pool_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "city", "expected"),
    [
        ("广东省", "", "广东"),
        ("上海市", "", "上海"),
        ("广西壮族自治区", "", "广西"),
        ("内蒙古自治区", "", "内蒙古"),
        ("新疆维吾尔自治区", "", "新疆"),
        ("Guangdong", "", "广东"),
        ("zhejiang province", "", "浙江"),
        ("", "苏州市", "江苏"),
        ("", "深圳", "广东"),
        ("深圳市", "", "广东"),
        ("", "", ""),
        ("Bavaria", "", "Bavaria"),
    ],
)
def test_province_normalize(value, city, expected):
    assert province_normalize(value, city=city) == expected


def test_clean_normalises_like_contacts():
    clean = lead_clean(
        {
            "name": "  张 三 ",
            "mobile": "138 1234 5678",
            "phone": "021-6234 5678 转 801",
            "email": " Zhang@Example.CN ",
            "province": "浙江省",
            "city": "杭州市",
        }
    )
    assert clean["name"] == "张 三"
    assert clean["mobile"] == "+8613812345678"
    assert clean["phone"].startswith("+862162345678") and "ext=801" in clean["phone"]
    assert clean["email"] == "zhang@example.cn"
    assert clean["province"] == "浙江" and clean["city"] == "杭州"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "mobile": "13812345678"}, "name"),
        ({"name": "a", "mobile": "12345"}, "mobile"),
        ({"name": "a", "email": "not-an-email"}, "email"),
        ({"name": "a" * 101, "mobile": "13812345678"}, "name"),
        ({"name": "a", "mobile": "13812345678", "notes": "x" * 5001}, "notes"),
    ],
)
def test_clean_refuses(data, field):
    with pytest.raises(ValidationFailed) as exc:
        lead_clean(data)
    assert exc.value.field == field


def test_create_needs_one_channel(org):
    with pytest.raises(ValidationFailed) as exc:
        lead_create(actor=org.zhang_wei, data={"name": "无联系方式"})
    assert exc.value.field == "mobile"
    lead = lead_create(actor=org.zhang_wei, data={"name": "只有微信", "wechat": "wx_123"})
    assert lead.wechat == "wx_123"


def test_create_defaults_owner_to_me_with_history_and_log(org):
    lead = lead_create(actor=org.zhang_wei, data={"name": "王五", "mobile": "13812345678"})
    assert lead.owner == org.zhang_wei and lead.created_by == org.zhang_wei
    assert lead.status == LeadStatus.NEW and lead.assigned_at is not None
    assert LeadEvent.objects.filter(lead=lead, kind="created").exists()
    entry = LeadAssignment.objects.get(lead=lead)
    assert entry.user == org.zhang_wei and entry.rule is None and entry.actor == org.zhang_wei


def test_create_auto_assign_runs_the_rules(org):
    make_rule("华南", values=["广东"], department=org.south)
    lead = lead_create(
        actor=org.zhao_min,
        data={"name": "展会访客", "mobile": "13812345678", "province": "广东省"},
        auto_assign=True,
    )
    assert lead.owner == org.wang_fang
    assert LeadAssignment.objects.get(lead=lead).rule_name == "华南"


def test_service_agent_lead_goes_through_the_rules(org):
    # Service may create but not edit leads: a lead they pass on is assigned by the rules.
    lead = lead_create(actor=org.chen_jing, data={"name": "来电", "mobile": "13812345678"})
    assert lead.owner is None


def test_manager_creates_for_a_team_member_not_for_another_team(org):
    lead = lead_create(
        actor=org.li_na, data={"name": "a", "mobile": "13812345678"}, owner=org.zhang_wei
    )
    assert lead.owner == org.zhang_wei
    with pytest.raises(PermissionDenied):
        lead_create(
            actor=org.li_na, data={"name": "b", "mobile": "13812345679"}, owner=org.wang_fang
        )
    with pytest.raises(PermissionDenied):
        lead_create(
            actor=org.zhang_wei, data={"name": "c", "mobile": "13812345670"}, owner=org.li_na
        )


def test_finance_cannot_create_leads(org):
    with pytest.raises(PermissionDenied):
        lead_create(actor=org.liu_yang, data={"name": "a", "mobile": "13812345678"})


def test_duplicate_is_a_warning_unless_refused(org):
    first = make_lead(org.wang_fang, mobile="13900001111", email="a@b.cn")
    second = lead_create(actor=org.zhang_wei, data={"name": "x", "mobile": "139 0000 1111"})
    assert [d.pk for d in second.duplicate_hits] == [first.pk]
    event = LeadEvent.objects.get(lead=second, kind="created")
    assert event.data["duplicates"] == [first.pk]
    with pytest.raises(Conflict) as exc:
        lead_create(
            actor=org.zhang_wei,
            data={"name": "y", "email": "A@B.cn"},
            refuse_duplicate=True,
        )
    assert exc.value.existing_id in (first.pk, second.pk)
    assert org.wang_fang.name in exc.value.message  # who has it (the first hit is hers)


def test_closed_leads_are_not_duplicates(org):
    old = make_lead(org.zhang_wei, mobile="13900002222")
    lead_status_change(actor=org.zhang_wei, lead=old, status="disqualified", reason="重复线索")
    new = lead_create(
        actor=org.zhang_wei, data={"name": "n", "mobile": "13900002222"}, refuse_duplicate=True
    )
    assert new.duplicate_hits == []


def test_update_is_versioned_and_logged(org):
    lead = make_lead(org.zhang_wei)
    lead_update(
        actor=org.zhang_wei,
        lead=lead,
        expected_version=lead.version,
        data={"company": "新公司", "province": "江苏省"},
    )
    lead.refresh_from_db()
    assert lead.company == "新公司" and lead.province == "江苏"
    event = LeadEvent.objects.get(lead=lead, kind="updated")
    assert "公司" in event.summary
    with pytest.raises(StaleVersion):
        lead_update(actor=org.zhang_wei, lead=lead, expected_version=1, data={"title": "x"})


def test_update_cannot_remove_the_last_channel(org):
    lead = lead_create(actor=org.zhang_wei, data={"name": "a", "mobile": "13812345678"})
    with pytest.raises(ValidationFailed):
        lead_update(actor=org.zhang_wei, lead=lead, expected_version=None, data={"mobile": ""})


def test_others_cannot_edit(org):
    lead = make_lead(org.zhang_wei)
    with pytest.raises(NotFound):
        lead_update(actor=org.wang_fang, lead=lead, expected_version=None, data={"title": "x"})


def test_status_changes(org):
    lead = make_lead(org.zhang_wei)
    lead_status_change(actor=org.zhang_wei, lead=lead, status="contacted")
    lead_status_change(actor=org.zhang_wei, lead=lead, status="qualified", reason="有预算")
    with pytest.raises(ValidationFailed) as exc:
        lead_status_change(actor=org.zhang_wei, lead=lead, status="disqualified")
    assert exc.value.field == "reason"
    lead_status_change(actor=org.zhang_wei, lead=lead, status="disqualified", reason="没有需求")
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualify_reason == "没有需求"
    lead_status_change(actor=org.zhang_wei, lead=lead, status="contacted")
    lead.refresh_from_db()
    assert lead.disqualify_reason == ""
    summaries = list(
        LeadEvent.objects.filter(lead=lead, kind="status")
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert summaries[0] == "状态：新线索 → 已联系"
    assert "没有需求" in summaries[2]
    for bad in ("converted", "nonsense", "contacted"):
        with pytest.raises(ValidationFailed):
            lead_status_change(actor=org.zhang_wei, lead=lead, status=bad)


def test_stale_status_change(org):
    lead = make_lead(org.zhang_wei)
    with pytest.raises(StaleVersion):
        lead_status_change(
            actor=org.zhang_wei, lead=lead, status="contacted", expected_version=lead.version - 1
        )


def test_note_and_manager_sees_subtree(org):
    lead = make_lead(org.zhang_wei)
    lead_note_add(actor=org.li_na, lead=lead, text="主管补充：客户预算 50 万")
    assert LeadEvent.objects.filter(lead=lead, kind="note", actor=org.li_na).exists()
    with pytest.raises(ValidationFailed):
        lead_note_add(actor=org.zhang_wei, lead=lead, text="   ")


def test_claim_from_pool(org):
    lead = pool_lead()
    claimed = lead_claim(actor=org.zhang_wei, lead=lead)
    assert claimed.owner == org.zhang_wei
    entry = LeadAssignment.objects.filter(lead=lead).order_by("-id").first()
    assert entry.reason == "从线索池领取" and entry.actor == org.zhang_wei
    with pytest.raises((ValidationFailed, NotFound)):
        lead_claim(actor=org.wang_fang, lead=lead)


def test_service_and_finance_cannot_claim(org):
    lead = pool_lead()
    with pytest.raises(PermissionDenied):
        lead_claim(actor=org.chen_jing, lead=lead)
    with pytest.raises(NotFound):
        lead_claim(actor=org.liu_yang, lead=lead)


def test_release_back_to_pool(org):
    lead = make_lead(org.zhang_wei)
    with pytest.raises(ValidationFailed):
        lead_release(actor=org.zhang_wei, lead=lead, reason=" ")
    lead_release(actor=org.zhang_wei, lead=lead, reason="不在我的区域")
    lead.refresh_from_db()
    assert lead.owner is None


def test_manager_assigns_within_team_only(org):
    lead = make_lead(org.li_na)
    lead_assign(actor=org.li_na, lead=lead, user=org.zhang_wei, reason="他熟悉这个行业")
    lead.refresh_from_db()
    assert lead.owner == org.zhang_wei
    entry = LeadAssignment.objects.filter(lead=lead).order_by("-id").first()
    assert "手动分配" in entry.reason and "熟悉" in entry.reason
    with pytest.raises(PermissionDenied):
        lead_assign(actor=org.li_na, lead=lead, user=org.wang_fang)
    with pytest.raises(ValidationFailed):
        lead_assign(actor=org.li_na, lead=lead, user=org.zhang_wei)


def test_manager_assigns_pool_leads_rep_cannot(org):
    lead = pool_lead()
    lead_assign(actor=org.huang_qiang, lead=lead, user=org.wang_fang)
    lead.refresh_from_db()
    assert lead.owner == org.wang_fang
    other = pool_lead()
    with pytest.raises(PermissionDenied):
        lead_assign(actor=org.zhang_wei, lead=other, user=org.zhang_wei)


def test_manager_cannot_assign_another_teams_lead(org):
    lead = make_lead(org.wang_fang)
    with pytest.raises(NotFound):
        lead_assign(actor=org.li_na, lead=lead, user=org.zhang_wei)


def test_director_assigns_across_the_sales_centre(org):
    lead = pool_lead()
    lead_assign(actor=org.director, lead=lead, user=org.wang_fang)
    lead.refresh_from_db()
    assert lead.owner == org.wang_fang


def test_bulk_assign_all_or_nothing(org):
    mine = [make_lead(org.zhang_wei), pool_lead()]
    n = lead_assign_bulk(actor=org.li_na, lead_ids=[x.pk for x in mine], user=org.li_na)
    assert n == 2
    assert set(
        Lead.objects.filter(pk__in=[x.pk for x in mine]).values_list("owner", flat=True)
    ) == {org.li_na.pk}
    foreign = make_lead(org.wang_fang)
    with pytest.raises(NotFound):
        lead_assign_bulk(actor=org.li_na, lead_ids=[mine[0].pk, foreign.pk], user=org.zhang_wei)
    assert Lead.objects.get(pk=mine[0].pk).owner == org.li_na
    with pytest.raises(PermissionDenied):
        lead_assign_bulk(actor=org.zhang_wei, lead_ids=[mine[0].pk], user=org.zhang_wei)


def test_bulk_by_rules(org):
    leads = [pool_lead(province="广东"), pool_lead(province="广东")]
    make_rule("华南", values=["广东"], department=org.south)
    n = lead_assign_bulk(actor=org.admin, lead_ids=[x.pk for x in leads], by_rules=True)
    assert n == 2
    assert all(Lead.objects.get(pk=x.pk).owner == org.wang_fang for x in leads)


def test_delete_to_recycle_bin_and_restore(org):
    from crm.core.recyclebin import record_restore
    from crm.search.models import SearchEntry

    lead = make_lead(org.zhang_wei, name="回收测试")
    assert SearchEntry.objects.filter(entity="lead", object_id=lead.pk).exists()
    lead_delete(actor=org.zhang_wei, lead=lead)
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert Lead.all_objects.get(pk=lead.pk).deleted_at is not None
    assert not SearchEntry.objects.filter(entity="lead", object_id=lead.pk).exists()
    record_restore(actor=org.zhang_wei, entity_key="lead", pk=lead.pk)
    assert SearchEntry.objects.filter(entity="lead", object_id=lead.pk).exists()


def test_service_cannot_delete(org):
    lead = lead_create(actor=org.chen_jing, data={"name": "a", "mobile": "13812345678"}, owner=None)
    with pytest.raises((PermissionDenied, NotFound)):
        lead_delete(actor=org.chen_jing, lead=lead)


def test_audit_records_writes(org):
    from crm.audit.models import AuditEntry

    lead = make_lead(org.zhang_wei)
    lead_status_change(actor=org.zhang_wei, lead=lead, status="contacted")
    actions = list(
        AuditEntry.objects.filter(entity="lead", object_id=str(lead.pk)).values_list(
            "action", flat=True
        )
    )
    assert "create" in actions and actions.count("update") >= 2


def test_global_search_finds_leads_in_scope(org):
    from crm.search.selectors import search

    mine = make_lead(org.zhang_wei, name="欧阳锋", company="白驼山庄", mobile="13911112222")
    make_lead(org.wang_fang, name="欧阳克", mobile="13911113333")
    hits = search(actor=org.zhang_wei, q="欧阳", entities=["lead"])
    assert [h.id for h in hits] == [mine.pk]
    assert hits[0].url.endswith(f"/leads/{mine.pk}/")
    assert [h.id for h in search(actor=org.zhang_wei, q="13911112222", entities=["lead"])] == [
        mine.pk
    ]
