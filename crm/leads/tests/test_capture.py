"""The public web form: embedding headers, lead creation through the rules, honeypot,
rate limit per address, field lengths, inactive forms."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm.core.config import setting_set
from crm.leads import config
from crm.leads.models import CaptureForm, Lead, LeadAssignment
from crm.leads.tests.factories import make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def capture(org):
    return CaptureForm.objects.create(
        name="官网咨询",
        key="k3y-test",
        source="官网表单",
        fields=["company", "province", "notes"],
        thank_you="谢谢，我们会联系您",
    )


def _post(client, form, **data):
    values = {"name": "访客", "mobile": "13812345678", "website": ""}
    values.update(data)
    return client.post(
        reverse("capture_form", args=[form.key]), values, REMOTE_ADDR=data.pop("ip", "10.0.0.1")
    )


def test_page_can_be_embedded(client, capture):
    r = client.get(reverse("capture_form", args=[capture.key]))
    assert r.status_code == 200
    assert "X-Frame-Options" not in r
    csp = r["Content-Security-Policy"]
    assert "frame-ancestors 'self' *" in csp and "frame-ancestors 'none'" not in csp
    assert "script-src 'self'" in csp
    body = r.content.decode()
    assert 'name="company"' in body and 'name="wechat"' not in body
    assert 'name="website"' in body and "capture-hp" in body
    # Every other page still refuses to be framed.
    other = client.get(reverse("login"))
    assert (
        other["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in other["Content-Security-Policy"]
    )


def test_embedding_limited_to_listed_sites(client, capture):
    capture.embed_origins = "https://www.example.com\nhttps://expo.example.cn"
    capture.save()
    csp = client.get(reverse("capture_form", args=[capture.key]))["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.example.com https://expo.example.cn;" in csp


def test_submit_creates_a_lead_through_the_rules(client, org, capture):
    make_rule("华东", values=["上海"], department=org.east)
    r = _post(client, capture, company="申浦", province="上海市", notes="想了解产线改造")
    assert r.status_code == 302 and r["Location"] == reverse("capture_thanks", args=[capture.key])
    lead = Lead.objects.get()
    assert lead.source == "官网表单" and lead.province == "上海" and lead.owner == org.zhang_wei
    assert lead.created_by is None and lead.notes == "想了解产线改造"
    assert LeadAssignment.objects.get(lead=lead).rule_name == "华东"
    assert "官网咨询" in lead.events.get(kind="created").summary
    capture.refresh_from_db()
    assert capture.submissions == 1
    thanks = client.get(r["Location"])
    assert thanks.status_code == 200 and "谢谢，我们会联系您" in thanks.content.decode()
    assert "X-Frame-Options" not in thanks


def test_fields_not_on_the_form_are_ignored(client, capture):
    _post(client, capture, wechat="wx_1", industry="汽车")
    lead = Lead.objects.get()
    assert lead.wechat == "" and lead.industry == ""


def test_honeypot_pretends_success_and_stores_nothing(client, capture):
    r = _post(client, capture, website="http://spam.example")
    assert r.status_code == 302
    assert not Lead.objects.exists()
    # Even when the bot also broke a field.
    r = _post(client, capture, name="", website="x")
    assert r.status_code == 302 and not Lead.objects.exists()


def test_rate_limit_per_address(client, org, capture):
    setting_set(actor=org.admin, key=config.CAPTURE, value={"rate_per_minute": 2})
    for i in range(2):
        assert _post(client, capture, mobile=f"1381234567{i}").status_code == 302
    r = _post(client, capture, mobile="13812345679")
    assert r.status_code == 429 and "提交过于频繁" in r.content.decode()
    assert Lead.objects.count() == 2
    # Another address is not affected.
    assert _post(client, capture, mobile="13812345670", ip="10.0.0.2").status_code == 302


def test_rate_limit_zero_means_no_limit(client, org, capture):
    setting_set(actor=org.admin, key=config.CAPTURE, value={"rate_per_minute": 0})
    for i in range(7):
        assert _post(client, capture, mobile=f"1391234560{i}").status_code == 302


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("name", 101),
        ("company", 201),
        ("notes", 2001),
        ("mobile", 41),
        ("email", 255),
        ("website", 201),
    ],
)
def test_max_length_on_every_field(client, capture, field, length):
    r = _post(client, capture, **{field: "1" * length})
    assert r.status_code in (302, 400)
    assert not Lead.objects.exists()


def test_needs_a_way_to_contact(client, capture):
    r = _post(client, capture, mobile="", email="")
    assert r.status_code == 400 and "请留下手机或邮箱" in r.content.decode()
    r = _post(client, capture, mobile="12345")
    assert r.status_code == 400 and not Lead.objects.exists()


def test_inactive_or_unknown_form_is_404(client, capture):
    assert client.get(reverse("capture_form", args=["nope"])).status_code == 404
    capture.is_active = False
    capture.save()
    assert client.get(reverse("capture_form", args=[capture.key])).status_code == 404
    assert _post(client, capture).status_code == 404


def test_no_csrf_token_needed(capture):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    r = strict.post(
        reverse("capture_form", args=[capture.key]), {"name": "a", "mobile": "13812345678"}
    )
    assert r.status_code == 302 and Lead.objects.count() == 1


def test_hostile_input_stays_escaped(client, capture):
    payload = "<script>alert(1)</script>"
    _post(client, capture, name=payload, company=payload)
    lead = Lead.objects.get()
    assert lead.name == payload
