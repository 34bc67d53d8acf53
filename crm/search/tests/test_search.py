"""Global search against the real index (FTS5 on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

import pytest

from crm.core.recyclebin import record_restore
from crm.customers import services
from crm.customers.models import Contact
from crm.search.models import SearchEntry
from crm.search.selectors import search

pytestmark = pytest.mark.django_db

HIK_CODE = "91330100716105852F"


def _titles(hits):
    return [h.title for h in hits]


@pytest.fixture
def data(org):
    east = services.customer_create(
        actor=org.zhang_wei,
        data={"name": "杭州海康威视数字技术股份有限公司", "credit_code": HIK_CODE, "city": "杭州"},
        contacts=[
            {
                "name": "王建国",
                "title": "采购经理",
                "mobile": "138 1234 5678",
                "email": "wang.jg@hikvision.com",
            }
        ],
    )
    south = services.customer_create(
        actor=org.wang_fang,
        data={"name": "深圳市大疆创新科技有限公司", "city": "深圳"},
        contacts=[{"name": "李建华", "mobile": "13923456789", "phone": "0755-86001234转8"}],
    )
    pool = services.customer_create(
        actor=org.wang_fang,
        data={"name": "重庆长安汽车股份有限公司"},
        contacts=[{"name": "赵公海", "mobile": "13711112222"}],
    )
    services.customer_release(actor=org.wang_fang, customer=pool, reason="无人跟进")
    return org, east, south, pool


# ------------------------------------------------------------------ what finds what


FINDS = [
    ("海康", "杭州海康威视数字技术股份有限公司"),
    ("海康威视", "杭州海康威视数字技术股份有限公司"),
    ("威视 数字", "杭州海康威视数字技术股份有限公司"),
    ("hangzhouhaikang", "杭州海康威视数字技术股份有限公司"),
    ("hkws", "杭州海康威视数字技术股份有限公司"),
    ("haikang", "杭州海康威视数字技术股份有限公司"),
    (HIK_CODE, "杭州海康威视数字技术股份有限公司"),
    (HIK_CODE.lower()[:10], "杭州海康威视数字技术股份有限公司"),
    ("王建国", "王建国"),
    ("wangjianguo", "王建国"),
    ("wjg", "王建国"),
    ("jianguo", "王建国"),
    ("5678", "王建国"),
    ("12345678", "王建国"),
    ("13812345678", "王建国"),
    ("138 1234 5678", "王建国"),
    ("wang.jg@hikvision.com", "王建国"),
    ("WANG.JG@HIKVISION.COM", "王建国"),
    ("+86 138-1234-5678", "王建国"),
]


def test_finds_by_any_key(data):
    # One fixture, many queries: the index is the same for all of them.
    org, *_rest = data
    for q, title in FINDS:
        hits = search(actor=org.zhang_wei, q=q)
        assert _titles(hits)[:1] == [title], (q, _titles(hits))


def test_landline_with_extension_is_found_by_its_last_digits(data):
    org, _east, _south, _pool = data
    assert "李建华" in _titles(search(actor=org.wang_fang, q="1234"))
    assert "李建华" in _titles(search(actor=org.wang_fang, q="075586001234"))


def test_hits_carry_entity_url_and_reason(data):
    org, east, _south, _pool = data
    (hit,) = [h for h in search(actor=org.zhang_wei, q="海康威视") if h.entity == "customer"]
    assert hit.id == east.pk
    assert hit.url.endswith(f"/{east.pk}/") or str(east.pk) in hit.url
    assert hit.reason
    contact_hit = search(actor=org.zhang_wei, q="wjg")[0]
    assert contact_hit.entity == "contact"
    assert f"contact-{contact_hit.id}" in contact_hit.url
    assert contact_hit.reason == "拼音"
    assert search(actor=org.zhang_wei, q="5678")[0].reason in ("电话", "电话尾号")


def test_nothing_and_nonsense(data):
    org, *_rest = data
    assert search(actor=org.zhang_wei, q="") == []
    assert search(actor=org.zhang_wei, q="   ") == []
    assert search(actor=org.zhang_wei, q="***") == []
    assert search(actor=org.zhang_wei, q="不存在的公司") == []
    assert search(actor=org.zhang_wei, q="海康", entities=["contact"]) == []


def test_ranking_puts_the_exact_name_first(org):
    names = [
        "深圳华为技术有限公司",
        "华为技术有限公司(北京分公司)",
        "华为技术服务有限公司",
        "华为技术有限公司",
    ]
    for name in names:
        services.customer_create(actor=org.zhang_wei, data={"name": name})
    hits = search(actor=org.zhang_wei, q="华为技术有限公司")
    assert hits[0].title == "华为技术有限公司"
    assert hits[0].score == 100
    titles = _titles(search(actor=org.zhang_wei, q="华为技术"))
    assert set(titles) == set(names)
    # Names starting with the query come before names merely containing it.
    assert titles.index("华为技术服务有限公司") < titles.index("深圳华为技术有限公司")
    hits = search(actor=org.zhang_wei, q="华为")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_limit(org):
    for i in range(5):
        services.customer_create(actor=org.zhang_wei, data={"name": f"宁波港口物流{i}号有限公司"})
    assert len(search(actor=org.zhang_wei, q="宁波", limit=3)) == 3
    assert len(search(actor=org.zhang_wei, q="宁波")) == 5


# ------------------------------------------------------------------ what the actor may see


def test_rep_sees_only_own_region_and_the_pool(data):
    org, _east, _south, pool = data
    # 华南 rep: not the 华东 customer nor its contact, by any key.
    for q in ("海康威视", "hkws", "王建国", "wjg", "5678", "wang.jg@hikvision.com", HIK_CODE):
        assert search(actor=org.wang_fang, q=q) == [], q
    # 华东 rep: not the 华南 customer.
    assert search(actor=org.zhang_wei, q="大疆") == []
    assert search(actor=org.zhang_wei, q="李建华") == []
    # Everyone with customer rights sees the public pool, and its contacts.
    for actor in (org.zhang_wei, org.wang_fang):
        assert [h.id for h in search(actor=actor, q="长安汽车")] == [pool.pk]
        assert _titles(search(actor=actor, q="赵公海")) == ["赵公海"]


def test_manager_sees_the_team_not_the_other_region(data):
    org, east, south, _pool = data
    assert [h.id for h in search(actor=org.li_na, q="海康威视")] == [east.pk]
    assert search(actor=org.li_na, q="大疆") == []
    assert [h.id for h in search(actor=org.huang_qiang, q="大疆")] == [south.pk]
    assert search(actor=org.huang_qiang, q="海康威视") == []
    # The sales director's subtree covers both regions.
    assert {h.id for h in search(actor=org.director, q="科技", entities=["customer"])} >= {south.pk}
    assert search(actor=org.admin, q="海康威视")[0].id == east.pk


def test_collaborator_finds_the_customer(data):
    org, east, _south, _pool = data
    req = services.collaboration_request_create(actor=org.wang_fang, customer_id=east.pk)
    assert search(actor=org.wang_fang, q="海康威视") == []
    services.collaboration_request_decide(actor=org.zhang_wei, request_id=req.pk, approve=True)
    assert [h.id for h in search(actor=org.wang_fang, q="海康威视")] == [east.pk]


def test_deleted_customers_leave_search_and_come_back_on_restore(data):
    org, east, _south, _pool = data
    services.customer_delete(actor=org.zhang_wei, customer=east)
    assert search(actor=org.zhang_wei, q="海康威视") == []
    assert search(actor=org.zhang_wei, q="wjg") == []  # its contacts go with it
    assert search(actor=org.admin, q="海康威视") == []
    record_restore(actor=org.zhang_wei, entity_key="customer", pk=east.pk)
    assert [h.id for h in search(actor=org.zhang_wei, q="海康威视")] == [east.pk]
    assert _titles(search(actor=org.zhang_wei, q="wjg")) == ["王建国"]


def test_deleted_contact_leaves_search_and_comes_back(data):
    org, east, _south, _pool = data
    contact = Contact.objects.get(customer=east)
    services.contact_delete(actor=org.zhang_wei, contact=contact)
    assert search(actor=org.zhang_wei, q="wjg") == []
    assert not SearchEntry.objects.filter(entity="contact", object_id=contact.pk).exists()
    record_restore(actor=org.zhang_wei, entity_key="contact", pk=contact.pk)
    assert _titles(search(actor=org.zhang_wei, q="wjg")) == ["王建国"]


def test_renamed_customer_is_found_by_its_new_name(data):
    org, east, _south, _pool = data
    services.customer_update(
        actor=org.zhang_wei,
        customer=east,
        expected_version=east.version,
        data={"name": "海康威视(杭州)有限公司"},
    )
    assert [h.id for h in search(actor=org.zhang_wei, q="hkwshz")] == []
    assert [h.id for h in search(actor=org.zhang_wei, q="hkws")] == [east.pk]
    assert search(actor=org.zhang_wei, q="数字技术") == []


def test_contact_subtitle_shows_the_company_and_title(data):
    org, *_rest = data
    hit = search(actor=org.zhang_wei, q="王建国")[0]
    assert "杭州海康威视数字技术股份有限公司" in hit.subtitle
    assert "采购经理" in hit.subtitle


def test_masked_phone_does_not_leak_through_search(data):
    """Marketing sees every contact but phones masked: nothing in a hit shows the number."""
    org, *_rest = data
    hits = search(actor=org.zhao_min, q="王建国")
    assert _titles(hits) == ["王建国"]
    for hit in search(actor=org.zhao_min, q="王建国") + search(actor=org.zhao_min, q="李建华"):
        text = f"{hit.title} {hit.subtitle} {hit.reason}"
        for digits in ("13812345678", "12345678", "1234 5678", "13923456789", "86001234"):
            assert digits not in text
    # Finance has phones and emails masked.
    hit = search(actor=org.liu_yang, q="wjg")[0]
    assert "wang.jg" not in f"{hit.title} {hit.subtitle}"


def test_masked_phone_cannot_be_confirmed_by_searching_digits(data):
    """138****5678 hides the middle digits: a hit for the full number would reveal them."""
    org, _east, _south, _pool = data
    for q in ("13812345678", "138 1234 5678", "45678", "12345678"):
        assert [h for h in search(actor=org.zhao_min, q=q) if h.entity == "contact"] == [], q
        assert _titles(search(actor=org.admin, q=q))[:1] == ["王建国"], q
    # The last four digits are on show anyway (138****5678).
    assert _titles(search(actor=org.zhao_min, q="5678")) == ["王建国"]
    # Names still find the contact; digits still find customers (credit codes).
    assert _titles(search(actor=org.zhao_min, q="王建国")) == ["王建国"]
    digits_code = "914403001922038216"
    c = services.customer_create(
        actor=org.zhang_wei, data={"name": "华为技术有限公司", "credit_code": digits_code}
    )
    assert [h.id for h in search(actor=org.zhao_min, q=digits_code)] == [c.pk]
    # Service sees phones in clear: digits work for them.
    assert _titles(search(actor=org.chen_jing, q="13812345678")) == ["王建国"]
    # A hidden phone gives away not even its last digits.
    from crm.access.services import field_rule_set
    from crm.access.visibility import clear_cache

    field_rule_set(
        actor=org.admin,
        role=org.roles["service"],
        entity="contact",
        field="mobile",
        access="hidden",
    )
    clear_cache(org.chen_jing)
    assert search(actor=org.chen_jing, q="5678") == []
    assert _titles(search(actor=org.chen_jing, q="wjg")) == ["王建国"]


def test_masked_name_is_shown_masked(data):
    org, east, _south, _pool = data
    from crm.access.services import field_rule_set
    from crm.access.visibility import clear_cache

    field_rule_set(
        actor=org.admin,
        role=org.roles["marketing"],
        entity="customer",
        field="name",
        access="masked",
    )
    clear_cache(org.zhao_min)
    (hit,) = [h for h in search(actor=org.zhao_min, q="wjg")]
    assert "杭州海康威视" not in hit.subtitle  # the contact's company, masked
    (hit,) = [h for h in search(actor=org.zhao_min, q=HIK_CODE)]
    assert hit.title != east.name
    assert "****" in hit.title


def test_actor_without_rights_finds_nothing(data):
    org, *_rest = data
    from crm.access.tests.factories import UserFactory

    nobody = UserFactory(username="nobody", department=org.company)
    assert search(actor=nobody, q="海康威视") == []
    assert search(actor=nobody, q="长安汽车") == []  # not even the pool


def test_masked_email_cannot_be_confirmed_by_searching_it(data):
    """Finance sees emails masked (w***@…): searching the full address must not confirm it."""
    org, *_rest = data
    assert [h for h in search(actor=org.liu_yang, q="wang.jg@hikvision.com")] == []
    assert _titles(search(actor=org.admin, q="wang.jg@hikvision.com")) == ["王建国"]
    # Their names still find the contact.
    assert _titles(search(actor=org.liu_yang, q="王建国")) == ["王建国"]


def test_own_old_record_is_found_behind_many_newer_matches(org):
    """The index proposes the newest candidates first; a rep's own older customer must still
    be found when hundreds of newer matches belong to other regions."""
    from crm.customers.models import Customer
    from crm.search.selectors import CANDIDATES
    from crm.search.services import search_index_many

    mine = services.customer_create(actor=org.zhang_wei, data={"name": "宁波精密机械有限公司"})
    others = Customer.objects.bulk_create(
        Customer(name=f"苏州精密机械{i}号有限公司", name_key=f"k{i}", owner=org.wang_fang)
        for i in range(CANDIDATES + 20)
    )
    search_index_many(others)
    hits = search(actor=org.zhang_wei, q="精密机械")
    assert [h.id for h in hits] == [mine.pk]
