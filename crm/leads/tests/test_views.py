"""Lead pages: wiring, 404 outside scope, forms, conversion screen, administration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.customers.models import Customer
from crm.customers.services import customer_create
from crm.leads.models import AssignmentRule, CaptureForm, Lead, LeadStatus
from crm.leads.tests.factories import make_lead, make_rule, pool_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def go(user):
        client.force_login(user)
        return client

    return go


def test_list_tabs_and_scope(org, login):
    mine = make_lead(org.zhang_wei, name="我的线索甲")
    theirs = make_lead(org.wang_fang, name="华南线索乙")
    pooled = pool_lead(name="池中线索丙")
    c = login(org.zhang_wei)
    body = c.get(reverse("lead_list")).content.decode()
    assert mine.name in body and theirs.name not in body and pooled.name not in body
    assert pooled.name in c.get(reverse("lead_pool")).content.decode()
    assert mine.name in c.get(reverse("lead_mine")).content.decode()
    manager = login(org.li_na).get(reverse("lead_list")).content.decode()
    assert mine.name in manager and theirs.name not in manager


def test_list_filters_and_search(org, login):
    make_lead(org.zhang_wei, name="上海的", province="上海")
    make_lead(org.zhang_wei, name="江苏的", province="江苏", source="展会")
    c = login(org.zhang_wei)
    body = c.get(reverse("lead_list"), {"province": "上海"}).content.decode()
    assert "上海的" in body and "江苏的" not in body
    body = c.get(reverse("lead_list"), {"source": "展会"}).content.decode()
    assert "江苏的" in body and "上海的" not in body
    body = c.get(reverse("lead_list"), {"q": "江苏的"}).content.decode()
    assert "江苏的" in body and "上海的" not in body
    body = c.get(
        reverse("lead_list"),
        {"status": "open"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lead-results",
    ).content.decode()
    assert "上海的" in body and "<html" not in body


def test_detail_404_for_other_reps(org, login):
    lead = make_lead(org.wang_fang)
    assert login(org.zhang_wei).get(reverse("lead_detail", args=[lead.pk])).status_code == 404
    assert login(org.huang_qiang).get(reverse("lead_detail", args=[lead.pk])).status_code == 200
    assert login(org.liu_yang).get(reverse("lead_detail", args=[lead.pk])).status_code == 404


def test_detail_shows_assignment_log_with_rule(org, login):
    make_rule("华东", values=["上海"], department=org.east)
    from crm.leads.services import lead_create

    lead = lead_create(
        actor=None, data={"name": "访客", "mobile": "13812345678", "province": "上海"}, system=True
    )
    body = login(org.zhang_wei).get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert "分配记录" in body and "规则：华东" in body and "转化为客户" in body


def test_create_minimal_and_duplicate_confirm(org, login):
    c = login(org.zhang_wei)
    assert c.get(reverse("lead_create")).status_code == 200
    r = c.post(reverse("lead_create"), {"name": "新客户", "mobile": "13812345678", "assign": "me"})
    assert r.status_code == 302
    lead = Lead.objects.get(name="新客户")
    assert lead.owner == org.zhang_wei
    r = c.post(
        reverse("lead_create"), {"name": "同一个人", "mobile": "138 1234 5678", "assign": "me"}
    )
    assert r.status_code == 400 and "可能是重复线索" in r.content.decode()
    assert 'name="confirm_duplicate"' in r.content.decode()
    r = c.post(
        reverse("lead_create"),
        {"name": "同一个人", "mobile": "13812345678", "assign": "me", "confirm_duplicate": "True"},
    )
    assert r.status_code == 302 and Lead.objects.filter(name="同一个人").exists()


def test_create_requires_a_channel(org, login):
    r = login(org.zhang_wei).post(reverse("lead_create"), {"name": "x", "assign": "me"})
    assert r.status_code == 400 and "至少填写一种联系方式" in r.content.decode()


def test_manager_creates_for_rep(org, login):
    r = login(org.li_na).post(
        reverse("lead_create"),
        {"name": "给张伟", "mobile": "13812345678", "assign": str(org.zhang_wei.pk)},
    )
    assert r.status_code == 302
    assert Lead.objects.get(name="给张伟").owner == org.zhang_wei


def test_edit_page(org, login):
    lead = make_lead(org.zhang_wei)
    c = login(org.zhang_wei)
    page = c.get(reverse("lead_edit", args=[lead.pk]))
    assert page.status_code == 200
    r = c.post(
        reverse("lead_edit", args=[lead.pk]),
        {
            "name": lead.name,
            "mobile": "13812340000",
            "company": "改名公司",
            "version": lead.version,
        },
    )
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.company == "改名公司"


def test_status_buttons(org, login):
    lead = make_lead(org.zhang_wei)
    c = login(org.zhang_wei)
    c.post(reverse("lead_status", args=[lead.pk]), {"status": "contacted"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    r = c.post(
        reverse("lead_status", args=[lead.pk]),
        {"status": "disqualified", "reason": ""},
        follow=True,
    )
    assert "请填写无效原因" in r.content.decode()
    c.post(reverse("lead_status", args=[lead.pk]), {"status": "disqualified", "reason": "没有需求"})
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED


def test_claim_assign_release_note_delete(org, login):
    lead = pool_lead()
    rep = login(org.zhang_wei)
    rep.post(reverse("lead_claim", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.owner == org.zhang_wei
    rep.post(reverse("lead_note", args=[lead.pk]), {"text": "打过电话了"})
    assert lead.events.filter(kind="note").exists()
    rep.post(reverse("lead_release", args=[lead.pk]), {"reason": "不是我的区域"})
    lead.refresh_from_db()
    assert lead.owner is None
    mgr = login(org.li_na)
    mgr.post(reverse("lead_assign", args=[lead.pk]), {"owner": org.zhang_wei.pk})
    lead.refresh_from_db()
    assert lead.owner == org.zhang_wei
    login(org.zhang_wei).post(reverse("lead_delete", args=[lead.pk]))
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_bulk_assign_page(org, login):
    leads = [pool_lead(), pool_lead()]
    r = login(org.li_na).post(
        reverse("lead_bulk"),
        {"ids": [x.pk for x in leads], "action": "assign", "owner": org.zhang_wei.pk},
    )
    assert r.status_code == 302
    assert all(Lead.objects.get(pk=x.pk).owner == org.zhang_wei for x in leads)


def test_convert_page_new_customer(org, login):
    lead = make_lead(org.zhang_wei, company="杭州云帆智能包装有限公司", mobile="13812345678")
    c = login(org.zhang_wei)
    page = c.get(reverse("lead_convert", args=[lead.pk]))
    assert page.status_code == 200 and "杭州云帆智能包装有限公司" in page.content.decode()
    r = c.post(
        reverse("lead_convert", args=[lead.pk]),
        {
            "customer_mode": "new",
            "customer_name": "杭州云帆智能包装有限公司",
            "contact_mode": "new",
            "contact_name": lead.name,
            "contact_mobile": "13812345678",
            "version": lead.version,
        },
    )
    customer = Customer.objects.get(name="杭州云帆智能包装有限公司")
    assert r.status_code == 302 and r["Location"] == reverse("customer_detail", args=[customer.pk])
    again = c.get(reverse("lead_convert", args=[lead.pk]))
    assert again.status_code == 302


def test_convert_page_duplicate_then_link(org, login):
    existing = customer_create(
        actor=org.zhang_wei, data={"name": "宁波北仑汽配制造有限公司"}, contacts=[]
    )
    lead = make_lead(org.zhang_wei, company="宁波北仑汽配制造有限公司")
    c = login(org.zhang_wei)
    data = {
        "customer_mode": "new",
        "customer_name": "宁波北仑汽配制造有限公司",
        "contact_mode": "new",
        "contact_name": lead.name,
        "version": lead.version,
    }
    r = c.post(reverse("lead_convert", args=[lead.pk]), data)
    body = r.content.decode()
    assert r.status_code == 409 and "这个客户已经登记过" in body and "关联到这个客户并转化" in body
    r = c.post(reverse("lead_convert", args=[lead.pk]), {**data, "link_existing": existing.pk})
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.converted_customer == existing


def test_convert_page_duplicate_of_another_team_offers_collaboration(org, login):
    customer_create(actor=org.wang_fang, data={"name": "深圳宝安精密模具有限公司"}, contacts=[])
    lead = make_lead(org.zhang_wei, company="深圳宝安精密模具有限公司")
    r = login(org.zhang_wei).post(
        reverse("lead_convert", args=[lead.pk]),
        {
            "customer_mode": "new",
            "customer_name": "深圳宝安精密模具有限公司",
            "contact_mode": "none",
        },
    )
    body = r.content.decode()
    assert r.status_code == 409 and "申请成为协作人" in body and "关联到这个客户" not in body


def test_convert_helpers(org, login):
    mine = customer_create(
        actor=org.zhang_wei,
        data={"name": "上海申浦精密机械有限公司"},
        contacts=[{"name": "陈总", "mobile": "13912345678"}],
    )
    lead = make_lead(org.zhang_wei, company="上海申浦精密机械有限公司")
    c = login(org.zhang_wei)
    body = c.get(reverse("lead_convert_customers", args=[lead.pk])).content.decode()
    assert "上海申浦" in body
    body = c.get(
        reverse("lead_convert_contacts", args=[lead.pk]), {"customer_id": mine.pk}
    ).content.decode()
    assert "陈总" in body


def test_admin_pages_are_admin_only(org, login):
    for name in ("lead_rules", "lead_forms"):
        assert login(org.li_na).get(reverse(name)).status_code == 404
        assert login(org.admin).get(reverse(name)).status_code == 200


def test_rule_admin_create_edit_move_test_delete(org, login):
    c = login(org.admin)
    r = c.post(
        reverse("lead_rules"),
        {
            "name": "华东",
            "match": "region",
            "values": "上海、江苏省，浙江",
            "strategy": "round_robin",
            "department": org.east.pk,
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    rule = AssignmentRule.objects.get(name="华东")
    assert rule.values == ["上海", "江苏", "浙江"]
    c.post(
        reverse("lead_rules"),
        {
            "name": "兜底",
            "match": "any",
            "strategy": "user",
            "user": org.wang_fang.pk,
            "is_active": "on",
        },
    )
    bad = c.post(
        reverse("lead_rules"), {"name": "缺团队", "match": "any", "strategy": "round_robin"}
    )
    assert bad.status_code == 400 and "请选择团队" in bad.content.decode()
    second = AssignmentRule.objects.get(name="兜底")
    c.post(reverse("lead_rule_move", args=[second.pk]), {"direction": "up"})
    assert list(AssignmentRule.objects.order_by("order").values_list("name", flat=True)) == [
        "兜底",
        "华东",
    ]
    r = c.get(reverse("lead_rule_test"), {"province": "上海"}, HTTP_HX_REQUEST="true")
    assert "兜底" in r.content.decode()
    page = c.get(reverse("lead_rule_edit", args=[rule.pk]))
    assert page.status_code == 200
    c.post(
        reverse("lead_rule_edit", args=[rule.pk]),
        {
            "name": "华东区",
            "match": "region",
            "values": "上海",
            "strategy": "least_loaded",
            "department": org.east.pk,
        },
    )
    rule.refresh_from_db()
    assert rule.name == "华东区" and rule.strategy == "least_loaded" and not rule.is_active
    c.post(reverse("lead_rule_delete", args=[rule.pk]))
    assert not AssignmentRule.objects.filter(pk=rule.pk).exists()
    c.post(reverse("lead_settings"), {"fallback_user": org.li_na.pk, "rate_per_minute": 3})
    from crm.leads import config

    assert config.assignment_settings()["fallback_user_id"] == org.li_na.pk
    assert config.capture_settings()["rate_per_minute"] == 3


def test_capture_form_admin_and_embed_snippet(org, login):
    c = login(org.admin)
    r = c.post(
        reverse("lead_forms"),
        {
            "name": "官网",
            "source": "官网表单",
            "ask": ["company", "notes"],
            "is_active": "on",
            "embed_origins": "https://www.example.com/",
        },
    )
    form = CaptureForm.objects.get(name="官网")
    assert r.status_code == 302 and r["Location"] == reverse("lead_form_edit", args=[form.pk])
    assert form.embed_origins == "https://www.example.com" and form.fields == ["company", "notes"]
    page = c.get(reverse("lead_form_edit", args=[form.pk])).content.decode()
    assert "&lt;iframe" in page and f"/forms/{form.key}/" in page
    bad = c.post(
        reverse("lead_form_edit", args=[form.pk]), {"name": "官网", "embed_origins": "javascript:x"}
    )
    assert bad.status_code == 400
    c.post(reverse("lead_form_delete", args=[form.pk]))
    assert not CaptureForm.objects.filter(pk=form.pk).exists()


def test_nav_entries(org, login):
    body = login(org.zhang_wei).get(reverse("lead_list")).content.decode()
    assert f'href="{reverse("lead_list")}"' in body
    admin = login(org.admin).get(reverse("lead_list")).content.decode()
    assert reverse("lead_rules") in admin and reverse("lead_forms") in admin
    assert login(org.liu_yang).get(reverse("lead_list")).status_code == 404


def test_list_query_count_does_not_grow_with_rows(org, login, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = login(org.li_na)
    for _ in range(3):
        make_lead(org.zhang_wei)
    c.get(reverse("lead_list"))  # warm caches (grants, field rules)
    with CaptureQueriesContext(connection) as few:
        c.get(reverse("lead_list"))
    for _ in range(12):
        make_lead(org.zhang_wei)
    with CaptureQueriesContext(connection) as many:
        c.get(reverse("lead_list"))
    assert len(many) == len(few)
    with django_assert_max_num_queries(30):
        c.get(reverse("lead_pool"))
