"""Pages: the queue, the side-by-side comparison, merging with a field choice, undo; the
menu entry; 404 outside scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.core.navigation import nav_items
from crm.customers.models import Customer
from crm.dedupe.models import MergeRecord, PairStatus
from crm.dedupe.tests.factories import make, pair_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def east(org):
    a = make(org.li_na, "杭州西湖电子科技有限公司", industry="电子")
    b = make(org.li_na, "杭州西湖电子科技", industry="电子元件", level="A")
    return a, b, pair_of(a, b)


def test_menu_only_for_reviewers(org):
    assert "duplicates" in [i.key for i in nav_items(org.admin, "main")]
    assert "duplicates" in [i.key for i in nav_items(org.li_na, "main")]
    assert "duplicates" not in [i.key for i in nav_items(org.zhang_wei, "main")]


def test_queue_compare_merge_undo(client, org, east):
    a, b, pair = east
    client.force_login(org.li_na)
    page = client.get(reverse("duplicate_list"))
    assert page.status_code == 200
    assert "杭州西湖电子科技有限公司" in page.content.decode()
    compare = client.get(reverse("duplicate_pair", args=[pair.pk]))
    html = compare.content.decode()
    assert compare.status_code == 200
    assert 'name="f_industry"' in html and 'name="f_level"' in html
    assert 'name="f_name"' in html
    response = client.post(
        reverse("customer_merge"),
        {
            "a": a.pk,
            "b": b.pk,
            "a_version": a.version,
            "b_version": b.version,
            "pair": pair.pk,
            "survivor": "a",
            "f_name": "a",
            "f_industry": "b",
            "f_level": "b",
        },
    )
    record = MergeRecord.objects.get()
    assert response.status_code == 302 and response.url == reverse("merge_detail", args=[record.pk])
    a.refresh_from_db()
    assert (a.industry, a.level) == ("电子元件", "A")
    detail = client.get(response.url)
    assert "撤销合并" in detail.content.decode()
    undo = client.post(reverse("merge_undo", args=[record.pk]))
    assert undo.status_code == 302
    a.refresh_from_db()
    assert (a.industry, a.level) == ("电子", "")
    assert Customer.objects.filter(pk=b.pk).exists()
    pair.refresh_from_db()
    assert pair.status == PairStatus.OPEN


def test_survivor_b_maps_choices(client, org, east):
    a, b, pair = east
    client.force_login(org.admin)
    client.post(
        reverse("customer_merge"),
        {"a": a.pk, "b": b.pk, "pair": pair.pk, "survivor": "b", "f_name": "a", "f_industry": "b"},
    )
    b.refresh_from_db()
    assert b.name == "杭州西湖电子科技有限公司"  # A's name chosen, B survives
    assert b.industry == "电子元件"
    assert not Customer.objects.filter(pk=a.pk).exists()


def test_stale_form_shows_the_error(client, org, east):
    a, b, _pair = east
    client.force_login(org.admin)
    response = client.post(
        reverse("customer_merge"),
        {"a": a.pk, "b": b.pk, "a_version": a.version + 5, "survivor": "a"},
    )
    assert response.status_code == 422
    assert "已被他人修改" in response.content.decode()


def test_out_of_scope_pages_are_404(client, org, east):
    a, b, pair = east
    client.force_login(org.huang_qiang)
    assert client.get(reverse("duplicate_pair", args=[pair.pk])).status_code == 404
    assert client.get(reverse("duplicate_compare") + f"?a={a.pk}&b={b.pk}").status_code == 404
    assert client.post(reverse("duplicate_dismiss", args=[pair.pk])).status_code == 404
    assert (
        client.post(reverse("customer_merge"), {"a": a.pk, "b": b.pk, "survivor": "a"}).status_code
        == 404
    )
    client.force_login(org.zhang_wei)  # no right to the queue
    assert client.get(reverse("duplicate_list")).status_code == 404


def test_manager_sees_reports_pair_but_cannot_merge(client, org):
    r1 = make(org.zhang_wei, "宁波海天塑机")
    r2 = make(org.zhang_wei, "宁波海天塑机有限公司")
    pair = pair_of(r1, r2)
    client.force_login(org.li_na)
    html = client.get(reverse("duplicate_pair", args=[pair.pk])).content.decode()
    assert "合并需要能同时编辑这两个客户" in html
    assert 'type="submit" data-confirm' not in html
