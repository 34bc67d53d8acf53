"""Customer and contact lists: every filter, custom field filters on both databases,
sorts walked page by page with keyset cursors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from crm.core.errors import ValidationFailed
from crm.customers import services
from crm.customers.models import Contact, Customer
from crm.customers.selectors import (
    CUSTOMER_SORTS,
    contact_list,
    customer_filter,
    customer_list,
    customer_timeline,
    saved_views,
)
from crm.customfields.services import custom_field_create, custom_field_update

pytestmark = pytest.mark.django_db


def make(actor, name, *, contacts=None, custom=None, **data):
    return services.customer_create(
        actor=actor, data={"name": name, **data}, contacts=contacts, custom=custom
    )


def names(actor, filters, **kw):
    return sorted(c.name for c in walk(actor, filters, **kw))


def walk(actor, filters, *, limit=2, pool=False):
    """Every page of a list, following the cursors."""
    out: list[Customer] = []
    cursor = None
    for _ in range(200):
        page = customer_list(actor=actor, filters=filters, cursor=cursor, limit=limit, pool=pool)
        out.extend(page.items)
        if not page.next:
            return out
        cursor = page.next
    raise AssertionError("cursor loop")


# ------------------------------------------------------------------ plain filters


@pytest.fixture
def book(org):
    now = timezone.now()
    a = make(org.zhang_wei, "杭州甲公司", level="A", province="浙江", city="杭州", industry="软件")
    b = make(org.zhang_wei, "宁波乙公司", level="B", province="浙江", city="宁波", source="展会")
    c = make(org.li_na, "上海丙公司", level="A", province="上海", city="上海", status="following")
    d = make(org.wang_fang, "深圳丁公司", level="C", province="广东", city="深圳")
    e = make(org.huang_qiang, "广州戊公司", level="A", province="广东", city="广州")
    Customer.objects.filter(pk=a.pk).update(next_follow_up_at=now - dt.timedelta(days=2))
    Customer.objects.filter(pk=b.pk).update(next_follow_up_at=now + dt.timedelta(days=5))
    Customer.objects.filter(pk=d.pk).update(next_follow_up_at=now - dt.timedelta(hours=1))
    return a, b, c, d, e


def test_owner_filters(org, book):
    assert names(org.zhang_wei, {}) == sorted(["杭州甲公司", "宁波乙公司"])
    assert names(org.li_na, {"owner": "me"}) == ["上海丙公司"]
    assert names(org.li_na, {"owner": "team"}) == sorted(["杭州甲公司", "宁波乙公司", "上海丙公司"])
    assert names(org.li_na, {}) == names(org.li_na, {"owner": "team"})
    assert names(org.li_na, {"owner": str(org.zhang_wei.pk)}) == sorted(
        ["杭州甲公司", "宁波乙公司"]
    )
    # Filtering on someone outside one's scope finds nothing, never their customers.
    assert names(org.li_na, {"owner": str(org.wang_fang.pk)}) == []
    assert names(org.director, {"owner": "team"}) == sorted(c.name for c in book)
    with pytest.raises(ValidationFailed) as exc:
        customer_list(actor=org.li_na, filters={"owner": "boss"})
    assert exc.value.field == "owner"


def test_department_subtree(org, book):
    assert names(org.admin, {"department": str(org.east.pk)}) == sorted(
        ["杭州甲公司", "宁波乙公司", "上海丙公司"]
    )
    assert names(org.admin, {"department": str(org.south.pk)}) == sorted(
        ["深圳丁公司", "广州戊公司"]
    )
    assert len(names(org.admin, {"department": str(org.sales.pk)})) == 5
    assert names(org.admin, {"department": str(org.north.pk)}) == []
    assert names(org.admin, {"department": "999999"}) == []
    # Still only what the actor may see.
    assert names(org.zhang_wei, {"department": str(org.sales.pk)}) == sorted(
        ["杭州甲公司", "宁波乙公司"]
    )


def test_field_filters(org, book):
    assert names(org.admin, {"level": "A"}) == sorted(["杭州甲公司", "上海丙公司", "广州戊公司"])
    assert names(org.admin, {"province": "广东"}) == sorted(["深圳丁公司", "广州戊公司"])
    assert names(org.admin, {"province": "浙江", "city": "宁波"}) == ["宁波乙公司"]
    assert names(org.admin, {"status": "following"}) == ["上海丙公司"]
    assert names(org.admin, {"industry": "软件"}) == ["杭州甲公司"]
    assert names(org.admin, {"source": "展会"}) == ["宁波乙公司"]
    assert names(org.admin, {"level": "A", "province": "广东"}) == ["广州戊公司"]
    assert names(org.admin, {"level": ""}) == names(org.admin, {})


def test_due_filter(org, book):
    assert names(org.admin, {"due": "1"}) == sorted(["杭州甲公司", "深圳丁公司"])
    assert names(org.wang_fang, {"due": "1"}) == ["深圳丁公司"]


def test_query_filter_uses_the_search_index(org, book):
    make(org.zhang_wei, "温州己公司", contacts=[{"name": "王建国", "mobile": "13812345678"}])
    assert names(org.zhang_wei, {"q": "甲公司"}) == ["杭州甲公司"]
    assert names(org.zhang_wei, {"q": "hzj"}) == ["杭州甲公司"]
    assert names(org.zhang_wei, {"q": "5678"}) == ["温州己公司"]  # by a contact's phone
    assert names(org.zhang_wei, {"q": "wjg"}) == ["温州己公司"]
    assert names(org.wang_fang, {"q": "杭州"}) == []


def test_query_dict_filters(org, book):
    qd = QueryDict("level=A&province=%E6%B5%99%E6%B1%9F&sort=name")
    assert [c.name for c in customer_list(actor=org.admin, filters=qd).items] == ["杭州甲公司"]


def test_bad_filter_values(org, book):
    for filters in ({"department": "x"}, {"completeness_min": "high"}, {"sort": "owner"}):
        with pytest.raises(ValidationFailed):
            customer_list(actor=org.admin, filters=filters)
    with pytest.raises(ValidationFailed) as exc:
        customer_list(actor=org.admin, filters={}, cursor="not-a-cursor")
    assert exc.value.field == "cursor"


def test_pool_list(org, book):
    a = book[0]
    services.customer_release(actor=org.zhang_wei, customer=a, reason="x")
    assert [c.pk for c in walk(org.wang_fang, {}, pool=True)] == [a.pk]
    assert [c.pk for c in walk(org.wang_fang, {"level": "B"}, pool=True)] == []
    assert a.pk not in [c.pk for c in walk(org.zhang_wei, {})]


# ------------------------------------------------------------------ custom field filters


@pytest.fixture
def custom_book(org):
    admin = org.admin
    fields = [
        ("note", "text", {}),
        ("story", "longtext", {}),
        ("staff", "number", {}),
        ("annual", "money", {}),
        ("since", "date", {}),
        ("intent", "choice", {"choices": ["高", "中", "低"]}),
        ("channels", "multichoice", {"choices": ["线上", "线下", "线上线下", "渠道"]}),
        ("buyer", "user", {}),
        ("listed", "boolean", {}),
    ]
    for key, type_, extra in fields:
        custom_field_create(actor=admin, entity="customer", key=key, label=key, type=type_, **extra)
    rows = {
        "甲": {
            "note": "重点跟进",
            "story": "老客户\n多年合作",
            "staff": 120,
            "annual": "5000000",
            "since": "2020-05-01",
            "intent": "高",
            "channels": ["线上", "渠道"],
            "buyer": org.li_na.pk,
            "listed": True,
        },
        "乙": {
            "note": "一般",
            "staff": 12.5,
            "annual": "5000000.5",
            "since": "2021-01-01",
            "intent": "低",
            "channels": ["线上线下"],
            "buyer": org.zhang_wei.pk,
            "listed": False,
        },
        "丙": {"channels": ["线下"]},
        "丁": {},
    }
    return {n: make(org.zhang_wei, f"{n}公司", custom=values) for n, values in rows.items()}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("note", "重点", ["甲"]),
        ("note", "跟进", ["甲"]),
        ("story", "合作", ["甲"]),
        ("staff", "120", ["甲"]),
        ("staff", "12.5", ["乙"]),
        ("annual", "5000000", ["甲"]),
        ("annual", "5,000,000.00", ["甲"]),
        ("annual", "5000000.50", ["乙"]),
        ("since", "2020-05-01", ["甲"]),
        ("intent", "高", ["甲"]),
        ("intent", "中", []),
        ("channels", "线上", ["甲"]),  # not 乙's 线上线下
        ("channels", "线下", ["丙"]),  # nor 线上线下 here
        ("channels", "线上线下", ["乙"]),
        ("channels", "渠道", ["甲"]),
        ("listed", "true", ["甲"]),
        ("listed", "是", ["甲"]),
        ("listed", "false", ["乙"]),
        ("listed", "0", ["乙"]),
    ],
)
def test_custom_field_filters(org, custom_book, key, value, expected):
    got = names(org.zhang_wei, {f"custom.{key}": value})
    assert got == sorted(f"{n}公司" for n in expected), (connection.vendor, key, value)


def test_custom_user_filter(org, custom_book):
    assert names(org.zhang_wei, {"custom.buyer": str(org.li_na.pk)}) == ["甲公司"]
    assert names(org.zhang_wei, {"custom.buyer": str(org.zhang_wei.pk)}) == ["乙公司"]
    with pytest.raises(ValidationFailed) as exc:
        customer_list(actor=org.zhang_wei, filters={"custom.buyer": "李娜"})
    assert exc.value.field == "custom.buyer"


def test_custom_filter_edge_cases(org, custom_book):
    everyone = names(org.zhang_wei, {})
    # Empty values, unknown keys and fields that are not filterable do not filter.
    assert names(org.zhang_wei, {"custom.note": ""}) == everyone
    assert names(org.zhang_wei, {"custom.unknown": "x"}) == everyone
    with pytest.raises(ValidationFailed) as exc:
        customer_list(actor=org.zhang_wei, filters={"custom.staff": "many"})
    assert exc.value.field == "custom.staff"
    from crm.customfields.models import CustomFieldDef

    f = CustomFieldDef.objects.get(key="intent")
    custom_field_update(actor=org.admin, field=f, expected_version=f.version, filterable=False)
    assert names(org.zhang_wei, {"custom.intent": "高"}) == everyone
    # Quotes and wildcards in a value are data, not syntax.
    for value in ('"', "%", "_", '["线上"]', "线上\\", "'; --"):
        assert names(org.zhang_wei, {"custom.channels": value}) == [], value
        assert names(org.zhang_wei, {"custom.note": value}) == [], value


def test_custom_filters_combine_with_others(org, custom_book):
    filters = {"custom.intent": "高", "custom.listed": "true", "owner": "me"}
    assert names(org.zhang_wei, filters) == ["甲公司"]
    assert names(org.wang_fang, filters) == []
    assert customer_filter(org.zhang_wei, {"custom.channels": "线上"}).count() == 1


# ------------------------------------------------------------------ sorts and keyset walks


@pytest.fixture
def many(org):
    now = timezone.now()
    out = []
    for i in range(13):
        c = make(org.zhang_wei, f"客户{i:02d}")
        out.append(c)
    # Ties: four customers share one name, several share completeness and dates.
    tie_ids = [c.pk for c in out[:4]]
    Customer.objects.filter(pk__in=tie_ids).update(name="同名公司")
    for i, c in enumerate(out):
        Customer.objects.filter(pk=c.pk).update(
            completeness=(i % 3) * 25,
            next_follow_up_at=None if i % 4 == 0 else now + dt.timedelta(days=i % 3),
            last_follow_up_at=None if i % 5 == 0 else now - dt.timedelta(days=i % 2),
        )
    return [Customer.objects.get(pk=c.pk) for c in out]


@pytest.mark.parametrize("sort", list(CUSTOMER_SORTS))
@pytest.mark.parametrize("limit", [1, 3, 50])
def test_keyset_walk_every_sort(org, many, sort, limit):
    got = walk(org.zhang_wei, {"sort": sort}, limit=limit)
    ids = [c.pk for c in got]
    assert len(ids) == len(set(ids)), "a row appeared twice"
    ordering = CUSTOMER_SORTS[sort]
    expected_qs = Customer.objects.filter(owner=org.zhang_wei)
    first = ordering[0].lstrip("-")
    if first in ("next_follow_up_at", "last_follow_up_at"):
        expected_qs = expected_qs.filter(**{f"{first}__isnull": False})
    expected = list(expected_qs.order_by(*ordering).values_list("pk", flat=True))
    assert ids == expected


def test_name_ties_are_walked_without_loss(org, many):
    got = walk(org.zhang_wei, {"sort": "name"}, limit=1)
    same = [c.pk for c in got if c.name == "同名公司"]
    assert same == sorted(same)
    assert len(same) == 4
    got = walk(org.zhang_wei, {"sort": "-name"}, limit=3)
    assert [c.pk for c in got if c.name == "同名公司"] == sorted(same, reverse=True)


def test_cursor_of_another_sort_is_refused_or_harmless(org, many):
    page = customer_list(actor=org.zhang_wei, filters={"sort": "name"}, limit=2)
    with pytest.raises(ValidationFailed):
        customer_list(actor=org.zhang_wei, filters={"sort": "-id"}, cursor=page.next, limit=2)


def test_list_query_count_is_fixed(org, many, django_assert_max_num_queries):
    tag = services.tag_create(actor=org.admin, name="重点客户")
    services.customers_tag(actor=org.zhang_wei, customer_ids=[c.pk for c in many], tags=[tag])
    customer_list(actor=org.zhang_wei, filters={}, limit=50)  # warm the actor's access cache
    with django_assert_max_num_queries(4):
        page = customer_list(actor=org.zhang_wei, filters={"level": ""}, limit=50)
        for c in page.items:
            _ = c.owner.department, c.tag_list


# ------------------------------------------------------------------ contact list


@pytest.fixture
def contacts(org):
    tag = services.tag_create(actor=org.admin, name="行业/软件")
    a = make(
        org.zhang_wei,
        "杭州甲公司",
        contacts=[
            {"name": "王建国", "mobile": "13812345678", "role": "decision_maker"},
            {"name": "李采购", "email": "li@jia.com", "role": "procurement"},
        ],
    )
    b = make(org.li_na, "上海乙公司", contacts=[{"name": "赵技术", "role": "technical"}])
    c = make(org.wang_fang, "深圳丙公司", contacts=[{"name": "钱总", "role": "decision_maker"}])
    services.customers_tag(actor=org.admin, customer_ids=[a.pk], tags=[tag])
    return a, b, c, tag


def cnames(actor, filters, limit=50):
    out, cursor = [], None
    while True:
        page = contact_list(actor=actor, filters=filters, cursor=cursor, limit=limit)
        out.extend(page.items)
        if not page.next:
            return sorted(c.name for c in out)
        cursor = page.next


def test_contact_list_filters(org, contacts):
    a, _b, _c, tag = contacts
    assert cnames(org.zhang_wei, {}) == sorted(["王建国", "李采购"])
    assert cnames(org.li_na, {}) == sorted(["王建国", "李采购", "赵技术"])
    assert cnames(org.li_na, {"owner": "me"}) == ["赵技术"]
    assert cnames(org.li_na, {"owner": "team"}) == sorted(["王建国", "李采购", "赵技术"])
    assert cnames(org.li_na, {"owner": str(org.zhang_wei.pk)}) == sorted(["王建国", "李采购"])
    assert cnames(org.admin, {"role": "decision_maker"}) == sorted(["王建国", "钱总"])
    assert cnames(org.admin, {"customer": str(a.pk)}) == sorted(["王建国", "李采购"])
    assert cnames(org.admin, {"department": str(org.south.pk)}) == ["钱总"]
    assert cnames(org.admin, {"department": str(org.east.pk)}) == sorted(
        ["王建国", "李采购", "赵技术"]
    )
    assert cnames(org.admin, {"tag": str(tag.parent_id)}) == sorted(["王建国", "李采购"])
    assert cnames(org.admin, {"q": "wjg"}) == ["王建国"]
    assert cnames(org.admin, {"q": "li@jia.com"}) == ["李采购"]
    assert cnames(org.wang_fang, {"q": "wjg"}) == []
    # Marketing sees every contact (phones masked elsewhere).
    assert len(cnames(org.zhao_min, {})) == 4
    assert cnames(org.admin, {}, limit=1) == sorted(["王建国", "李采购", "赵技术", "钱总"])
    with pytest.raises(ValidationFailed):
        contact_list(actor=org.admin, filters={"sort": "mobile"})


def test_masked_phones_cannot_be_confirmed_through_list_queries(org, contacts):
    # Marketing sees contacts with phones masked: a digits query finds none of them.
    assert cnames(org.zhao_min, {"q": "13812345678"}) == []
    assert cnames(org.zhao_min, {"q": "王建国"}) == ["王建国"]
    assert names(org.zhao_min, {"q": "13812345678"}) == []
    assert names(org.admin, {"q": "13812345678"}) == ["杭州甲公司"]
    assert cnames(org.admin, {"q": "13812345678"}) == ["王建国"]


def test_contact_list_sorts(org, contacts):
    for sort, key in (("name", lambda c: (c.name, c.pk)), ("id", lambda c: c.pk)):
        out, cursor = [], None
        while True:
            page = contact_list(actor=org.admin, filters={"sort": sort}, cursor=cursor, limit=1)
            out.extend(page.items)
            if not page.next:
                break
            cursor = page.next
        assert out == sorted(Contact.objects.all(), key=key)


def test_contact_custom_filters(org, contacts):
    custom_field_create(
        actor=org.admin,
        entity="contact",
        key="hobby",
        label="爱好",
        type="multichoice",
        choices=["高尔夫", "钓鱼", "高尔夫球"],
    )
    a = contacts[0]
    services.contact_create(
        actor=org.zhang_wei, customer=a, data={"name": "孙爱好"}, custom={"hobby": ["高尔夫球"]}
    )
    services.contact_create(
        actor=org.zhang_wei,
        customer=a,
        data={"name": "周爱好"},
        custom={"hobby": ["高尔夫", "钓鱼"]},
    )
    assert cnames(org.zhang_wei, {"custom.hobby": "高尔夫"}) == ["周爱好"]
    assert cnames(org.zhang_wei, {"custom.hobby": "高尔夫球"}) == ["孙爱好"]


# ------------------------------------------------------------------ small readers


def test_saved_views_are_per_user(org):
    services.saved_view_save(actor=org.zhang_wei, entity="customer", name="A 级", params="?level=A")
    services.saved_view_save(actor=org.zhang_wei, entity="customer", name="A 级", params="level=B")
    services.saved_view_save(actor=org.li_na, entity="customer", name="团队", params="owner=team")
    (view,) = saved_views(actor=org.zhang_wei, entity="customer")
    assert view.params == "level=B"
    assert saved_views(actor=org.zhang_wei, entity="contact") == []
    from crm.core.errors import NotFound

    with pytest.raises(NotFound):
        services.saved_view_delete(
            actor=org.zhang_wei, view_id=saved_views(actor=org.li_na, entity="customer")[0].pk
        )
    services.saved_view_delete(actor=org.zhang_wei, view_id=view.pk)
    with pytest.raises(ValidationFailed):
        services.saved_view_save(actor=org.zhang_wei, entity="customer", name=" ", params="")


def test_timeline_selector_needs_visibility(org, book):
    from crm.core.errors import NotFound

    with pytest.raises(NotFound):
        customer_timeline(actor=org.wang_fang, customer_id=book[0].pk)
    with pytest.raises(NotFound):
        customer_timeline(actor=org.wang_fang, customer_id="abc")
