"""Contract and payment pages: wiring, 404 outside the scope, money shown only as allowed,
forms that keep what was typed, fragments for the customer and opportunity pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.contracts import services
from crm.contracts.models import Contract, ContractStatus, Payment, PaymentPlan
from crm.contracts.tests.factories import (
    active_contract,
    contract_of,
    customer_of,
    open_opportunity,
    won_opportunity,
)

TODAY = timezone.localdate()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_list_page_for_each_role(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="1280000")
    url = reverse("contract_list")
    page = text(client_for(org.zhang_wei).get(url))
    assert c.name in page and "¥1,280,000.00" in page and "应收余额" in page
    finance = text(client_for(org.liu_yang).get(url))
    assert "¥1,280,000.00" in finance
    assert "新建合同" not in finance
    service = client_for(org.chen_jing).get(url)
    assert service.status_code == 200
    assert c.name in text(service) and "¥" not in text(service) and "合同金额" not in text(service)
    assert c.name not in text(client_for(org.wang_fang).get(url))
    assert client_for(org.zhao_min).get(url).status_code == 404


def test_list_filters_by_htmx(org):
    contract_of(org.zhang_wei, name="三月合同", signed_on="2026-03-05")
    contract_of(org.zhang_wei, name="四月合同", signed_on="2026-04-05")
    r = client_for(org.zhang_wei).get(
        reverse("contract_list"),
        {"signed": "2026-03"},
        headers={"HX-Request": "true", "HX-Target": "contract-results"},
    )
    assert "三月合同" in text(r) and "四月合同" not in text(r)
    assert "<html" not in r.content.decode()
    bad = client_for(org.zhang_wei).get(reverse("contract_list"), {"signed": "2026-13"})
    assert bad.status_code == 200


def test_detail_404_outside_scope_and_money_by_role(org, media):
    c = active_contract(org.zhang_wei, org.li_na, amount="880000")
    services.attachment_add(
        actor=org.zhang_wei,
        contract=c,
        upload=SimpleUploadedFile("盖章合同.pdf", PDF, "application/pdf"),
    )
    url = reverse("contract_detail", args=[c.pk])
    assert client_for(org.wang_fang).get(url).status_code == 404
    assert client_for(org.huang_qiang).get(url).status_code == 404
    rep = text(client_for(org.zhang_wei).get(url))
    assert "¥880,000.00" in rep and "盖章合同.pdf" in rep and "登记回款" in rep
    assert "结束合同" in rep and "作废" in rep
    finance = text(client_for(org.liu_yang).get(url))
    assert "¥880,000.00" in finance and "盖章合同.pdf" in finance
    assert "编辑" not in finance and "结束合同" not in finance and "登记回款" in finance
    service = text(client_for(org.chen_jing).get(url))
    assert "¥" not in service and "盖章合同.pdf" not in service and "回款计划" not in service
    assert "附件包含合同金额" in service


def test_attachment_download_checks_visibility(org, media):
    c = contract_of(org.zhang_wei)
    att = services.attachment_add(
        actor=org.zhang_wei,
        contract=c,
        upload=SimpleUploadedFile("scan.pdf", PDF, "application/pdf"),
    )
    url = reverse("contract_attachment", args=[att.pk])
    r = client_for(org.zhang_wei).get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    assert r["Content-Type"] == "application/pdf" and r["X-Content-Type-Options"] == "nosniff"
    assert client_for(org.liu_yang).get(url).status_code == 200
    for user in (org.wang_fang, org.chen_jing, org.zhao_min):
        assert client_for(user).get(url).status_code == 404
    assert (
        client_for(org.zhang_wei).get(reverse("contract_attachment", args=[99999])).status_code
        == 404
    )


def test_upload_view_refuses_bad_files_with_a_message(org, media):
    c = contract_of(org.zhang_wei)
    url = reverse("contract_attachment_upload", args=[c.pk])
    r = client_for(org.zhang_wei).post(
        url,
        {"file": SimpleUploadedFile("virus.pdf", b"MZ\x90\x00", "application/pdf")},
        follow=True,
    )
    assert "不支持的附件类型" in text(r)
    r = client_for(org.zhang_wei).post(
        url, {"file": SimpleUploadedFile("合同.pdf", PDF, "application/pdf")}, follow=True
    )
    assert "已上传附件「合同.pdf」" in text(r)
    assert client_for(org.wang_fang).post(url, {}).status_code == 404


def test_create_from_won_opportunity_page(org):
    customer = customer_of(org.zhang_wei)
    opp = won_opportunity(org.zhang_wei, customer, amount="650000")
    rep = client_for(org.zhang_wei)
    url = reverse("contract_create") + f"?opportunity={opp.pk}"
    page = text(rep.get(url))
    assert 'value="650000.00"' in page and opp.name in page and customer.name in page
    r = rep.post(
        reverse("contract_create"),
        {
            "opportunity": opp.pk,
            "name": opp.name,
            "amount": "65万",
            "currency": "CNY",
            "signed_on": TODAY.isoformat(),
            "owner": org.zhang_wei.pk,
        },
    )
    assert r.status_code == 302, text(r)[:2000]
    c = Contract.objects.get(opportunity=opp)
    assert r["Location"] == reverse("contract_detail", args=[c.pk])
    assert c.amount_value == 650000
    # Another region: the opportunity is missing.
    assert client_for(org.wang_fang).get(url).status_code == 404


def test_create_page_refuses_an_open_opportunity_clearly(org):
    opp = open_opportunity(org.zhang_wei, customer_of(org.zhang_wei))
    r = client_for(org.zhang_wei).get(reverse("contract_create") + f"?opportunity={opp.pk}")
    assert r.status_code == 400 and "只有赢单的商机才能生成合同" in text(r)


def test_create_keeps_input_on_error(org):
    customer = customer_of(org.zhang_wei)
    r = client_for(org.zhang_wei).post(
        reverse("contract_create"),
        {"customer": customer.pk, "name": "设备采购合同", "amount": "一百万", "currency": "CNY"},
    )
    assert r.status_code == 400
    page = text(r)
    assert "金额格式不对" in page and 'value="设备采购合同"' in page and 'value="一百万"' in page


def test_pick_customer_page(org):
    customer_of(org.zhang_wei, name="杭州海康威视数字技术股份有限公司")
    page = text(client_for(org.zhang_wei).get(reverse("contract_create"), {"q": "海康"}))
    assert "杭州海康威视数字技术股份有限公司" in page
    assert client_for(org.liu_yang).get(reverse("contract_create")).status_code == 404


def test_edit_page_locks_by_status_and_handles_stale(org):
    c = contract_of(org.zhang_wei)
    rep = client_for(org.zhang_wei)
    url = reverse("contract_edit", args=[c.pk])
    signed = c.signed_on.isoformat()
    r = rep.post(
        url,
        {
            "name": "改过的名字",
            "amount": "1280000",
            "currency": "CNY",
            "signed_on": signed,
            "version": c.version,
        },
    )
    assert r.status_code == 302
    r = rep.post(
        url,
        {
            "name": "又一个名字",
            "amount": "1280000",
            "currency": "CNY",
            "signed_on": signed,
            "version": c.version,
        },
    )
    assert r.status_code == 400 and "已被他人修改" in text(r)
    assert 'value="又一个名字"' in text(r)
    services.contract_submit(actor=org.zhang_wei, contract=Contract.objects.get(pk=c.pk))
    page = text(rep.get(url))
    assert "关键条款不能再改" in page
    assert re.search(r'name="amount"[^>]*disabled', page)
    assert client_for(org.liu_yang).get(url).status_code == 404


def test_transition_buttons_post(org):
    c = contract_of(org.zhang_wei)
    rep = client_for(org.zhang_wei)
    r = rep.post(
        reverse("contract_transition", args=[c.pk, "submit"]), {"version": c.version}, follow=True
    )
    assert "合同已提交审批" in text(r)
    r = rep.post(reverse("contract_transition", args=[c.pk, "activate"]), {}, follow=True)
    assert (
        "审批" in text(r)
        and Contract.objects.get(pk=c.pk).status == ContractStatus.PENDING_APPROVAL
    )
    page = text(client_for(org.li_na).get(reverse("contract_detail", args=[c.pk])))
    assert "审批通过，生效" in page
    client_for(org.li_na).post(reverse("contract_transition", args=[c.pk, "activate"]), {})
    assert Contract.objects.get(pk=c.pk).status == ContractStatus.ACTIVE
    assert rep.post(reverse("contract_transition", args=[c.pk, "nonsense"]), {}).status_code == 404
    assert (
        client_for(org.wang_fang)
        .post(reverse("contract_transition", args=[c.pk, "close"]), {})
        .status_code
        == 404
    )


def test_plan_page_saves_rows_and_shows_errors(org):
    c = contract_of(org.zhang_wei, amount="100000")
    rep = client_for(org.zhang_wei)
    url = reverse("contract_plan", args=[c.pk])
    assert "各期回款" in text(rep.get(url))
    r = rep.post(
        url,
        {
            "version": c.version,
            "action": "save",
            "due_date": ["2026-12-01", "2027-03-01", ""],
            "amount": ["30000", "80000", ""],
            "notes": ["预付款", "", ""],
        },
    )
    assert r.status_code == 400 and "超过合同金额" in text(r)
    assert 'value="80000"' in text(r)
    r = rep.post(
        url,
        {
            "version": c.version,
            "action": "save",
            "due_date": ["2026-12-01", "2027-03-01"],
            "amount": ["30000", "70000"],
            "notes": ["预付款", "到货款"],
        },
    )
    assert r.status_code == 302
    assert list(PaymentPlan.objects.filter(contract=c).values_list("notes", flat=True)) == [
        "预付款",
        "到货款",
    ]
    r = rep.post(
        url,
        {
            "version": Contract.objects.get(pk=c.pk).version,
            "action": "generate",
            "count": "4",
            "first_due": "2027-01-15",
            "months_between": "3",
        },
    )
    assert r.status_code == 302
    assert PaymentPlan.objects.filter(contract=c).count() == 4
    assert client_for(org.liu_yang).get(url).status_code == 404
    assert client_for(org.chen_jing).get(url).status_code == 404


def test_payment_page_prefills_the_instalment_and_refuses_over_payment(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    [p1, _p2] = services.contract_plan_set(
        actor=org.zhang_wei,
        contract=c,
        expected_version=None,
        instalments=[
            {"due_date": TODAY, "amount": "30000"},
            {"due_date": TODAY + dt.timedelta(days=60), "amount": "70000"},
        ],
    )
    rep = client_for(org.zhang_wei)
    url = reverse("payment_create", args=[c.pk])
    page = text(rep.get(url, {"plan": p1.pk}))
    assert 'value="30000.00"' in page and "第 1 期" in page
    r = rep.post(url, {"amount": "30000.01", "received_on": TODAY.isoformat(), "plan": p1.pk})
    assert r.status_code == 400 and "超出第 1 期未收金额" in text(r)
    r = rep.post(
        url,
        {"amount": "30000", "received_on": TODAY.isoformat(), "plan": p1.pk, "method": "银行转账"},
    )
    assert r.status_code == 302
    assert Payment.objects.get(contract=c).amount == 30000
    detail = text(rep.get(reverse("contract_detail", args=[c.pk])))
    assert "已收齐" in detail and "¥70,000.00" in detail
    assert client_for(org.li_na).get(url).status_code == 404  # managers only look
    draft = contract_of(org.zhang_wei)
    assert rep.get(reverse("payment_create", args=[draft.pk])).status_code == 404


def test_payment_list_views(org):
    c = active_contract(org.zhang_wei, org.li_na, amount="100000")
    services.contract_plan_set(
        actor=org.zhang_wei,
        contract=c,
        expected_version=None,
        instalments=[
            {"due_date": TODAY - dt.timedelta(days=5), "amount": "30000"},
            {"due_date": TODAY + dt.timedelta(days=5), "amount": "70000"},
        ],
    )
    services.payment_create(
        actor=org.liu_yang, contract=c, data={"amount": "10000", "reference": "ICBC-77"}
    )
    finance = client_for(org.liu_yang)
    url = reverse("payment_list")
    overdue = text(finance.get(url))
    assert c.number in overdue and "已逾期" in overdue and "¥20,000.00" in overdue
    due = text(finance.get(url, {"view": "due"}))
    assert "即将到期" in due and "¥70,000.00" in due
    records = text(finance.get(url, {"view": "payments"}))
    assert "ICBC-77" in records and "撤销" in records
    rep_records = text(client_for(org.zhang_wei).get(url, {"view": "payments"}))
    assert "ICBC-77" in rep_records and "撤销" not in rep_records
    assert c.number not in text(client_for(org.wang_fang).get(url))
    assert client_for(org.zhao_min).get(url).status_code == 404
    assert finance.get(url, {"view": "bogus", "month": "x"}).status_code == 200


def test_payment_delete_view(org):
    c = active_contract(org.zhang_wei, org.li_na)
    p = services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "1000"})
    url = reverse("payment_delete", args=[p.pk])
    r = client_for(org.zhang_wei).post(url, follow=True)
    assert "您没有执行此操作的权限" in text(r)
    assert client_for(org.wang_fang).post(url).status_code == 404
    r = client_for(org.liu_yang).post(url, {"next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"].startswith("/payments/")
    assert not Payment.objects.filter(pk=p.pk).exists()


def test_customer_fragment(org):
    customer = customer_of(org.zhang_wei)
    c = active_contract(org.zhang_wei, org.li_na, customer, amount="200000")
    services.payment_create(actor=org.zhang_wei, contract=c, data={"amount": "50000"})
    url = reverse("customer_contracts", args=[customer.pk])
    page = text(client_for(org.zhang_wei).get(url, headers={"HX-Request": "true"}))
    assert c.number in page and "应收余额" in page and "¥150,000.00" in page and "新建" in page
    service = text(client_for(org.chen_jing).get(url))
    assert c.number in service and "¥" not in service
    assert client_for(org.zhao_min).get(url).content.strip() == b""
    assert client_for(org.wang_fang).get(url).status_code == 404


def test_opportunity_fragment(org):
    customer = customer_of(org.zhang_wei)
    won = won_opportunity(org.zhang_wei, customer)
    url = reverse("opportunity_contracts", args=[won.pk])
    page = text(client_for(org.zhang_wei).get(url))
    assert "生成合同" in page
    c = services.contract_from_opportunity(actor=org.zhang_wei, opportunity=won)
    assert c.number in text(client_for(org.zhang_wei).get(url))
    create = 'href="/contracts/new/?opportunity='
    assert create not in text(client_for(org.liu_yang).get(url))
    opened = open_opportunity(org.zhang_wei, customer)
    page = text(client_for(org.zhang_wei).get(reverse("opportunity_contracts", args=[opened.pk])))
    assert create not in page and "商机赢单后" in page
    assert client_for(org.wang_fang).get(url).status_code == 404


def test_delete_view(org):
    c = contract_of(org.zhang_wei)
    r = client_for(org.zhang_wei).post(reverse("contract_delete", args=[c.pk]), follow=True)
    assert "回收站" in text(r)
    assert not Contract.objects.filter(pk=c.pk).exists()


def test_settings_page_admin_only(org):
    url = reverse("contract_settings")
    assert client_for(org.li_na).get(url).status_code == 404
    admin = client_for(org.admin)
    assert f"HT-{TODAY.year}-0001" in text(admin.get(url))
    r = admin.post(
        url,
        {"number_prefix": "合同", "number_digits": 4, "max_attachment_mb": 20, "due_soon_days": 30},
    )
    assert r.status_code == 400 and "编号前缀" in text(r)
    r = admin.post(
        url,
        {
            "number_prefix": "SZ",
            "number_digits": 5,
            "max_attachment_mb": 20,
            "due_soon_days": 30,
            "version": 0,
        },
    )
    assert r.status_code == 302
    assert contract_of(org.zhang_wei).number == f"SZ-{TODAY.year}-00001"


def test_nav_entries(org):
    home = text(client_for(org.liu_yang).get("/"))
    assert 'href="/contracts/"' in home and 'href="/payments/"' in home
    assert 'href="/contracts/"' not in text(client_for(org.zhao_min).get("/"))


def test_search_result_line_never_shows_the_amount(org):
    c = contract_of(org.zhang_wei, name="苏州晨星装配线合同", amount="1234567")
    page = text(client_for(org.zhang_wei).get(reverse("search"), {"q": "晨星"}))
    assert c.number in page and "1234567" not in page and "1,234,567" not in page
    assert c.number not in text(client_for(org.wang_fang).get(reverse("search"), {"q": "晨星"}))


def test_reveal_amount_only_for_reveal_level(org):
    from crm.access.models import FieldRule

    c = contract_of(org.zhang_wei, amount="990000")
    url = reverse("contract_reveal", args=[c.pk])
    assert client_for(org.chen_jing).post(url).status_code == 403
    FieldRule.objects.create(
        role=org.roles["sales_manager"], entity="contract", field="amount", access="reveal"
    )
    manager = client_for(org.li_na)
    page = text(manager.get(reverse("contract_detail", args=[c.pk])))
    assert "****" in page and "990,000" not in page and "查看" in page
    r = manager.post(url)
    assert r.status_code == 200 and "¥990,000.00" in r.content.decode()
