"""Opportunity pages: list, kanban, detail, forms, the move dialog (htmx and plain), the
customer fragment, pipeline administration; 404 outside the scope."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.opportunities.models import Opportunity, Pipeline
from crm.opportunities.tests.factories import contact, customer, opportunity, stage

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page(client, user, url, **kw):
    client.force_login(user)
    return client.get(url, **kw)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def deal(org):
    cust = customer(org.zhang_wei, "杭州海康威视数字技术股份有限公司")
    return opportunity(org.zhang_wei, cust, name="海康视觉检测项目", amount="250000")


def test_list_with_totals_and_filters(client, org, deal):
    r = page(client, org.zhang_wei, reverse("opportunity_list"))
    assert r.status_code == 200
    body = text(r)
    assert "海康视觉检测项目" in body and "¥250,000.00" in body
    r = page(
        client,
        org.zhang_wei,
        reverse("opportunity_list") + "?amount_min=300000",
        **HTMX,
        HTTP_HX_TARGET="opp-results",
    )
    assert "海康视觉检测项目" not in text(r)
    assert "没有符合条件的商机" in text(r)


def test_list_totals_come_in_their_own_request(client, org, deal):
    """The page shows its rows at once; the totals (a sum over every visible row) load after
    it through htmx, with the same filters."""
    opportunity(org.zhang_wei, deal.customer, name="第二个项目", amount="100000")
    r = page(client, org.zhang_wei, reverse("opportunity_list") + "?amount_min=200000")
    assert 'id="opp-totals"' in r.content.decode() and 'hx-trigger="load"' in r.content.decode()
    r = page(
        client,
        org.zhang_wei,
        reverse("opportunity_list") + "?amount_min=200000",
        **HTMX,
        HTTP_HX_TARGET="opp-totals",
    )
    body = text(r)
    assert "¥250,000.00" in body and "¥350,000.00" not in body
    assert "海康视觉检测项目" not in body  # the totals alone, not the rows
    r = page(
        client, org.wang_fang, reverse("opportunity_list"), **HTMX, HTTP_HX_TARGET="opp-totals"
    )
    assert "¥250,000.00" not in text(r)  # outside her scope


def test_kanban_renders_columns_cards_and_totals(client, org, deal):
    r = page(client, org.zhang_wei, reverse("opportunity_kanban"))
    assert r.status_code == 200
    body = text(r)
    for name in ("初步接洽", "需求确认", "赢单", "输单"):
        assert name in body
    assert f'id="opp-card-{deal.pk}"' in body
    assert "¥25万" in body
    assert "Sortable.min.js" in body
    # Filter by owner: the rep of another region sees nothing of it.
    r = page(client, org.wang_fang, reverse("opportunity_kanban"))
    assert f'id="opp-card-{deal.pk}"' not in text(r)


def test_kanban_query_count_does_not_grow_with_cards(client, org):
    cust = customer(org.zhang_wei)
    opportunity(org.zhang_wei, cust, name="一")
    client.force_login(org.zhang_wei)
    url = reverse("opportunity_kanban")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(8):
        opportunity(org.zhang_wei, cust, name=f"多{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_manager_sees_team_card_locked(client, org, deal):
    r = page(client, org.li_na, reverse("opportunity_kanban"))
    body = text(r)
    assert f'id="opp-card-{deal.pk}"' in body
    assert "kanban-card is-locked" in body


def test_detail_and_404_outside_scope(client, org, deal):
    r = page(client, org.zhang_wei, reverse("opportunity_detail", args=[deal.pk]))
    assert r.status_code == 200
    assert "阶段历史" in text(r) and "确认客户联系人和采购意向" in text(r)
    r = page(client, org.wang_fang, reverse("opportunity_detail", args=[deal.pk]))
    assert r.status_code == 404
    client.force_login(org.wang_fang)
    r = client.post(
        reverse("opportunity_move", args=[deal.pk]), {"stage": stage("输单").pk, "lost_reason": "x"}
    )
    assert r.status_code == 404


def test_create_form_and_submit(client, org):
    cust = customer(org.zhang_wei, "宁波舜宇光学科技有限公司")
    r = page(client, org.zhang_wei, reverse("opportunity_create") + f"?customer={cust.pk}")
    assert r.status_code == 200
    assert "宁波舜宇光学科技有限公司" in text(r)
    r = client.post(
        reverse("opportunity_create"),
        {
            "customer": cust.pk,
            "name": "舜宇检测线",
            "amount": "96,000",
            "currency": "CNY",
            "pipeline": Pipeline.objects.get(name="新客户").pk,
            "owner": org.zhang_wei.pk,
            "forecast_category": "pipeline",
        },
    )
    assert r.status_code == 302, text(r)[:2000]
    opp = Opportunity.objects.get(name="舜宇检测线")
    assert opp.customer == cust and str(opp.amount) == "96000.00"


def test_create_without_customer_shows_error(client, org):
    client.force_login(org.zhang_wei)
    r = client.post(
        reverse("opportunity_create"),
        {
            "name": "无客户",
            "pipeline": Pipeline.objects.get(name="新客户").pk,
            "currency": "CNY",
            "forecast_category": "pipeline",
        },
    )
    assert r.status_code == 400
    assert (
        "请选择客户" in text(r)
        or "这个字段是必填项" in text(r)
        or "This field is required" in text(r)
    )


def test_customer_pick(client, org):
    customer(org.zhang_wei, "宁波舜宇光学科技有限公司")
    r = page(client, org.zhang_wei, reverse("opportunity_customer_pick") + "?customer_q=舜宇")
    assert "宁波舜宇光学科技有限公司" in text(r)
    r = page(client, org.wang_fang, reverse("opportunity_customer_pick") + "?customer_q=舜宇")
    assert "宁波舜宇光学科技有限公司" not in text(r)


def test_edit_form(client, org, deal):
    r = page(client, org.zhang_wei, reverse("opportunity_edit", args=[deal.pk]))
    assert r.status_code == 200
    r = client.post(
        reverse("opportunity_edit", args=[deal.pk]),
        {
            "name": "海康视觉检测二期",
            "amount": "260000",
            "currency": "CNY",
            "owner": org.zhang_wei.pk,
            "forecast_category": "best",
            "version": deal.version,
        },
    )
    assert r.status_code == 302, text(r)[:3000]
    deal.refresh_from_db()
    assert deal.name == "海康视觉检测二期" and deal.forecast_category == "best"
    # The manager may not edit the rep's opportunity: no form.
    assert page(client, org.li_na, reverse("opportunity_edit", args=[deal.pk])).status_code == 404


def test_kanban_move_refused_then_accepted(client, org, deal):
    client.force_login(org.zhang_wei)
    url = reverse("opportunity_move", args=[deal.pk])
    target = stage("需求确认")
    r = client.post(
        url,
        {"stage": target.pk, "version": deal.version, "ctx": "kanban", "board": ""},
        **HMTX_POST,
    )
    assert r.status_code == 200
    assert json.loads(r["HX-Trigger"]) == {"opportunityMoveRefused": {"id": deal.pk}}
    body = text(r)
    assert "预计成交日期" in body and "确认客户联系人和采购意向" in body
    deal.refresh_from_db()
    assert deal.stage.name == "初步接洽"
    first = stage("初步接洽")
    r = client.post(
        url,
        {
            "stage": target.pk,
            "version": deal.version,
            "ctx": "kanban",
            "board": "",
            "expected_close_date": "2027-06-30",
            f"checklist.{first.pk}.0": "on",
        },
        **HMTX_POST,
    )
    assert r.status_code == 200
    assert "opportunityMoved" in r["HX-Trigger"]
    body = text(r)
    assert f'hx-swap-oob="afterbegin:#cards-{target.pk}"' in body
    assert f'id="col-head-{target.pk}" hx-swap-oob="true"' in body
    deal.refresh_from_db()
    assert deal.stage == target


HMTX_POST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "opp-modal-content"}


def test_plain_move_page_without_javascript(client, org, deal):
    client.force_login(org.zhang_wei)
    url = reverse("opportunity_move", args=[deal.pk])
    r = client.get(url + f"?stage={stage('输单').pk}")
    assert r.status_code == 200 and "输单原因" in text(r)
    r = client.post(url, {"stage": stage("输单").pk, "version": deal.version})
    assert r.status_code == 422
    r = client.post(
        url, {"stage": stage("输单").pk, "version": deal.version, "lost_reason": "预算取消"}
    )
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.status == "lost"


def test_stage_chooser_for_phones(client, org, deal):
    r = page(
        client, org.zhang_wei, reverse("opportunity_move", args=[deal.pk]) + "?ctx=kanban", **HTMX
    )
    assert r.status_code == 200
    assert "移动到阶段" in text(r) and "商务谈判" in text(r)


def test_checklist_tick_view(client, org, deal):
    client.force_login(org.zhang_wei)
    first = stage("初步接洽")
    r = client.post(
        reverse("opportunity_checklist", args=[deal.pk]),
        {"stage": first.pk, "index": 0, "done": "1"},
        **HTMX,
    )
    assert r.status_code == 200
    deal.refresh_from_db()
    assert deal.checklist_done == {str(first.pk): [0]}


def test_contact_add_and_remove_views(client, org, deal):
    person = contact(org.zhang_wei, deal.customer, "李工")
    client.force_login(org.zhang_wei)
    r = client.post(
        reverse("opportunity_contact_add", args=[deal.pk]),
        {"contact": person.pk, "role": "技术评估"},
    )
    assert r.status_code == 302
    assert deal.contact_roles.get().role == "技术评估"
    r = client.post(reverse("opportunity_contact_remove", args=[deal.pk, person.pk]))
    assert r.status_code == 302 and not deal.contact_roles.exists()


def test_customer_fragment(client, org, deal):
    r = page(client, org.zhang_wei, reverse("customer_opportunities", args=[deal.customer_id]))
    assert r.status_code == 200 and "海康视觉检测项目" in text(r)
    assert (
        page(
            client, org.wang_fang, reverse("customer_opportunities", args=[deal.customer_id])
        ).status_code
        == 404
    )
    r = page(client, org.zhang_wei, reverse("customer_detail", args=[deal.customer_id]))
    assert reverse("customer_opportunities", args=[deal.customer_id]) in text(r)


def test_pipeline_admin_pages(client, org):
    p = Pipeline.objects.get(name="新客户")
    assert page(client, org.li_na, reverse("pipeline_admin_list")).status_code == 404
    r = page(client, org.admin, reverse("pipeline_admin_list"))
    assert r.status_code == 200 and "预计成交日期" in text(r)
    r = client.get(reverse("pipeline_admin_edit", args=[p.pk]))
    assert r.status_code == 200
    r = client.post(
        reverse("stage_admin_create", args=[p.pk]),
        {
            "name": "技术交流",
            "kind": "open",
            "probability": 30,
            "time_limit_days": 10,
            "required_fields": ["amount"],
            "checklist": "交流纪要",
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    s = p.stages.get(name="技术交流")
    r = client.post(reverse("stage_admin_move", args=[s.pk]), {"direction": "up"})
    assert r.status_code == 302
    r = client.get(reverse("stage_admin_edit", args=[s.pk]))
    assert r.status_code == 200
    r = client.post(reverse("pipeline_admin_create"), {"name": "渠道合作", "is_active": "on"})
    assert r.status_code == 302


def test_kanban_masks_amounts_by_field_rule(client, org, deal):
    from crm.access.models import FieldAccess, FieldRule

    FieldRule.objects.create(
        role=org.roles["finance"], entity="opportunity", field="amount", access=FieldAccess.MASKED
    )
    body = text(page(client, org.liu_yang, reverse("opportunity_kanban")))
    assert f'id="opp-card-{deal.pk}"' in body
    assert "250,000" not in body and "25万" not in body
    assert "****" in body
