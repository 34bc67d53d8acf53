"""The duplicates API: list and dismiss pairs, merge, undo; errors in the standard shape;
a pair or customer outside the caller's scope is a 404."""

from __future__ import annotations

import pytest

from crm.customers.models import Contact, Customer
from crm.dedupe.models import PairStatus
from crm.dedupe.tests.factories import make, pair_of
from tests.api.clients import api_client, assert_error, walk_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def east(org):
    a = make(
        org.li_na, "杭州西湖电子科技有限公司", contacts=[{"name": "王", "mobile": "13812345678"}]
    )
    b = make(org.li_na, "杭州西湖电子科技", address="文三路 90 号", contacts=[{"name": "李"}])
    return a, b, pair_of(a, b)


def test_list_dismiss_and_filters(org, east):
    a, _b, pair = east
    south_a = make(org.wang_fang, "广州白云电器有限公司")
    south_b = make(org.wang_fang, "广州白云电器")
    pair_of(south_a, south_b, 90)
    manager = api_client(org.li_na)
    items = walk_pages(manager, "/duplicates")
    assert [i["id"] for i in items] == [pair.pk]  # the 华南 pair is not hers
    item = items[0]
    assert item["a"] == {"id": a.pk, "name": a.name}
    assert item["score"] == 95 and item["status"] == "open" and item["reasons"]
    admin = api_client(org.admin)
    assert len(walk_pages(admin, "/duplicates")) == 2
    assert len(walk_pages(admin, "/duplicates", {"customer": south_a.pk})) == 1

    response = manager.post(f"/duplicates/{pair.pk}/dismiss?note=两家不同的公司")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "dismissed"
    assert walk_pages(manager, "/duplicates") == []
    assert len(walk_pages(manager, "/duplicates", {"status": "dismissed"})) == 1
    assert_error(manager.post(f"/duplicates/{pair.pk}/dismiss"), 409)
    assert_error(manager.get("/duplicates", {"status": "nope"}), 422, "status")


def test_out_of_scope_pair_is_404(org, east):
    _a, _b, pair = east
    south_manager = api_client(org.huang_qiang)
    assert_error(south_manager.get(f"/duplicates/{pair.pk}"), 404)
    assert_error(south_manager.post(f"/duplicates/{pair.pk}/dismiss"), 404)
    assert_error(south_manager.get("/duplicates/999999"), 404)
    # a rep has no right to the queue at all
    assert walk_pages(api_client(org.zhang_wei), "/duplicates") == []


def test_merge_and_undo(org, east):
    a, b, pair = east
    manager = api_client(org.li_na)
    response = manager.post(
        "/customers/merge",
        {
            "survivor": a.pk,
            "loser": b.pk,
            "choices": {"address": "b"},
            "survivor_version": a.version,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["survivor"]["id"] == a.pk and body["loser_id"] == b.pk
    assert body["moved"]["customers.Contact.customer"] == 1
    assert Customer.objects.get(pk=a.pk).address == "文三路 90 号"
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert Contact.objects.filter(customer_id=a.pk).count() == 2
    assert manager.get(f"/duplicates/{pair.pk}").json()["status"] == PairStatus.MERGED
    assert manager.get(f"/merges/{body['id']}").json()["undone_at"] is None

    undone = manager.post(f"/merges/{body['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"]
    assert Customer.objects.get(pk=a.pk).address == ""
    assert Customer.objects.filter(pk=b.pk).exists()
    assert Contact.objects.filter(customer_id=b.pk).count() == 1
    assert_error(manager.post(f"/merges/{body['id']}/undo"), 409)


def test_merge_errors(org, east):
    a, b, _pair = east
    manager = api_client(org.li_na)
    assert_error(manager.post("/customers/merge", {"survivor": a.pk, "loser": a.pk}), 422, "loser")
    assert_error(
        manager.post("/customers/merge", {"survivor": a.pk, "loser": b.pk, "choices": {"x": "b"}}),
        422,
        "x",
    )
    assert_error(
        manager.post(
            "/customers/merge", {"survivor": a.pk, "loser": b.pk, "choices": {"name": "c"}}
        ),
        422,
        "name",
    )
    assert_error(
        manager.post("/customers/merge", {"survivor": a.pk, "loser": b.pk, "survivor_version": 99}),
        409,
    )
    assert_error(manager.post("/customers/merge", {"survivor": a.pk}), 422)
    assert_error(manager.post("/customers/merge", {"survivor": a.pk, "loser": 0}), 422)


def test_merge_outside_scope_is_404_and_without_edit_403(org, east):
    a, b, _pair = east
    south = make(org.wang_fang, "广州白云电器")
    manager = api_client(org.li_na)
    assert_error(
        manager.post("/customers/merge", {"survivor": a.pk, "loser": south.pk}), 404, "loser"
    )
    assert_error(
        api_client(org.huang_qiang).post("/customers/merge", {"survivor": a.pk, "loser": b.pk}),
        404,
        "survivor",
    )
    # her report's customers: she sees them, may not edit them (default edit scope)
    r1 = make(org.zhang_wei, "宁波海天塑机")
    r2 = make(org.zhang_wei, "宁波海天塑机有限公司")
    assert_error(manager.post("/customers/merge", {"survivor": r1.pk, "loser": r2.pk}), 403)
    # a rep may not merge even his own
    assert_error(
        api_client(org.zhang_wei).post("/customers/merge", {"survivor": r1.pk, "loser": r2.pk}), 403
    )


def test_undo_of_someone_elses_scope_is_404(org, east):
    a, b, _pair = east
    record = (
        api_client(org.admin).post("/customers/merge", {"survivor": a.pk, "loser": b.pk}).json()
    )
    assert_error(api_client(org.huang_qiang).post(f"/merges/{record['id']}/undo"), 404)
    assert_error(api_client(org.huang_qiang).get(f"/merges/{record['id']}"), 404)
