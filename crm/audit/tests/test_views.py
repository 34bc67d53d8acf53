"""The audit log page: filters, keyset pages, the htmx fragment, readable changes, verify."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from crm.audit.models import AuditEntry
from crm.audit.services import audit_record


def test_audit_page_is_for_administrators_only(client, org):
    client.force_login(org.li_na)
    assert client.get(reverse("audit_list")).status_code == 404
    assert client.post(reverse("audit_verify")).status_code == 404
    client.force_login(org.admin)
    response = client.get(reverse("audit_list"))
    assert response.status_code == 200
    assert "校验审计链" in response.content.decode()


def test_filters(client, org):
    audit_record(action="login_failed", entity="user", actor_name="intruder", ip="10.9.8.7")
    audit_record(action="login", actor=org.zhang_wei, entity="user", ip="10.0.0.1")
    audit_record(action="export", actor=org.li_na, entity="note", object_id=42, ip="10.0.0.2")
    client.force_login(org.admin)
    url = reverse("audit_list")

    def seqs(**params):
        return [row.entry.seq for row in client.get(url, params).context["rows"]]

    failed = seqs(action="login_failed")
    assert failed and all(AuditEntry.objects.get(seq=s).action == "login_failed" for s in failed)
    assert [AuditEntry.objects.get(seq=s).actor_name for s in seqs(actor="zhang")] == ["zhang.wei"]
    assert len(seqs(entity="note", object_id="42")) == 1
    assert len(seqs(ip="10.9.8.7")) == 1
    today = timezone.localdate()
    assert len(seqs(date_from=today.isoformat(), ip="10.0.0.2")) == 1
    assert seqs(date_to=(today - dt.timedelta(days=1)).isoformat()) == []


def test_bad_filter_values_are_reported_not_failed(client, org):
    client.force_login(org.admin)
    response = client.get(reverse("audit_list"), {"date_from": "2026-13-45", "action": "nope"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "date_from" in form.errors and "action" in form.errors
    response = client.get(reverse("audit_list"), {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert "分页游标无效" in response.content.decode()


def test_keyset_pages_keep_the_filters(client, org):
    for i in range(60):
        audit_record(action="export", entity="note", object_id=i, actor=org.li_na)
    client.force_login(org.admin)
    first = client.get(reverse("audit_list"), {"action": "export"})
    page = first.context["page"]
    assert len(page.items) == 50 and page.next
    body = first.content.decode()
    assert "action=export" in body and "cursor=" in body
    second = client.get(reverse("audit_list"), {"action": "export", "cursor": page.next})
    rest = second.context["page"]
    assert len(rest.items) == 10 and rest.next is None
    seen = [e.seq for e in page.items] + [e.seq for e in rest.items]
    assert len(set(seen)) == 60
    assert seen == sorted(seen, reverse=True)


def test_htmx_request_gets_only_the_results(client, org):
    audit_record(action="export", entity="note", object_id=1, actor=org.li_na)
    client.force_login(org.admin)
    response = client.get(
        reverse("audit_list"),
        {"action": "export"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="audit-results",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "<table" in body
    assert "HX-Request" in response.get("Vary", "")


def test_changes_read_as_old_to_new(client, org):
    audit_record(
        action="update",
        actor=org.admin,
        obj=org.zhang_wei,
        changes={
            "email": ["old@example.com", "new@example.com"],
            "department_id": [org.east.pk, org.south.pk],
            "is_active": [True, False],
        },
    )
    audit_record(
        action="permission",
        actor=org.admin,
        obj=org.roles["sales_rep"],
        changes={"entity": "user", "field": "mobile", "access": ["editable", "masked"]},
    )
    client.force_login(org.admin)
    body = client.get(reverse("audit_list")).content.decode()
    assert 'old@example.com</span> → <span class="audit-new">new@example.com' in body
    assert '华东销售部</span> → <span class="audit-new">华南销售部' in body
    assert '可编辑</span> → <span class="audit-new">脱敏' in body
    assert "手机" in body  # the field's label, not its code


def test_verify_button(client, org):
    audit_record(action="export", entity="note", object_id=1, actor=org.li_na)
    client.force_login(org.admin)
    response = client.post(reverse("audit_verify"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "审计链完整" in response.content.decode()
    assert AuditEntry.objects.filter(action="verify").exists()
    # Tamper with an entry behind the log's back: the check names it.
    victim = AuditEntry.objects.filter(action="export").first()
    AuditEntry.objects.filter(pk=victim.pk).update(object_repr="forged")
    response = client.post(reverse("audit_verify"), follow=True)
    body = response.content.decode()
    assert "审计链有问题" in body
    assert f"#{victim.seq}" in body
