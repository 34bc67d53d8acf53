"""Pages that must stay fast at a million customers (issue 3, docs/benchmarks.md):

* the customer list, the 360 page and the search API run a fixed number of queries, with
  few rows and with many (no query per row);
* the customer list's query shape for reps (customers_visible_owned: a UNION over the
  branches of visible()'s predicate) returns exactly the rows of visible().
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.access.visibility import clear_cache, visible
from crm.customers import services
from crm.customers.models import Customer, CustomerCollaborator
from crm.customers.selectors import customer_list, customers_visible_owned
from crm.timeline.services import timeline_append

pytestmark = pytest.mark.django_db

LIST_FILTERS = {"level": "A", "province": "浙江"}


_PHONES = itertools.count(1)


def make(actor: Any, name: str, *, n_contacts: int = 1, **data: Any) -> Customer:
    """A customer through the service; its contacts' mobiles all end in 5678."""
    contacts = [
        {"name": f"联系人{i}", "mobile": f"139{next(_PHONES):04d}5678"} for i in range(n_contacts)
    ]
    return services.customer_create(
        actor=actor,
        data={"name": name, "level": "A", "province": "浙江", "city": "杭州", **data},
        contacts=contacts,
    )


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def count(client: Client, path: str, **kwargs: Any) -> int:
    """Queries of one request, after a warm-up request (caches filled, session read)."""
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.content[:300]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **kwargs)
    assert response.status_code == 200
    return len(captured.captured_queries)


def bearer(user: Any) -> dict[str, str]:
    from crm.access.services import token_create

    _token, value = token_create(actor=user, name="query-count")
    return {"Authorization": f"Bearer {value}"}


# ------------------------------------------------------------------ fixed query counts


@pytest.mark.parametrize("username", ["admin", "li_na", "zhang_wei"])
def test_list_page_queries_do_not_grow_with_rows(org, username):
    user = getattr(org, username)
    tag = services.tag_create(actor=org.admin, name="重点客户")
    for i in range(2):
        make(org.zhang_wei, f"杭州少量{i}公司")
    client = login(user)
    few_page = count(client, "/customers/", data=LIST_FILTERS)
    few_api = count(Client(), "/api/v1/customers", data=LIST_FILTERS, headers=bearer(user))
    few_plain = count(client, "/customers/")

    # More than a page (50), with tags, several contacts and collaborators on the rows.
    for i in range(55):
        c = make(org.zhang_wei, f"杭州更多{i}公司", n_contacts=2)
        services.customers_tag(actor=org.admin, customer_ids=[c.pk], tags=[tag], add=True)
        if i % 5 == 0:
            CustomerCollaborator.objects.create(customer=c, user=org.wang_fang)
    assert len(customer_list(actor=user, filters=LIST_FILTERS, limit=50).items) == 50

    assert count(client, "/customers/", data=LIST_FILTERS) == few_page
    assert count(Client(), "/api/v1/customers", data=LIST_FILTERS, headers=bearer(user)) == few_api
    assert count(client, "/customers/") == few_plain


@pytest.mark.parametrize("username", ["admin", "zhang_wei"])
def test_360_page_queries_do_not_grow_with_rows(org, username):
    user = getattr(org, username)
    customer = make(org.zhang_wei, "杭州全景测试公司", n_contacts=1)
    client = login(user)
    path = f"/customers/{customer.pk}/"
    few = count(client, path)

    for i in range(19):
        services.contact_create(
            actor=org.zhang_wei,
            customer=customer,
            data={"name": f"联系人{i}", "mobile": f"1381234{i:04d}", "email": f"c{i}@example.com"},
        )
    tags = [services.tag_create(actor=org.admin, name=f"标签{i}") for i in range(5)]
    services.customers_tag(actor=org.admin, customer_ids=[customer.pk], tags=tags, add=True)
    CustomerCollaborator.objects.create(customer=customer, user=org.wang_fang)
    CustomerCollaborator.objects.create(customer=customer, user=org.li_na)
    now = timezone.now()
    for i in range(60):
        timeline_append(
            customer_id=customer.pk,
            kind="updated",
            actor=org.zhang_wei,
            summary="修改了客户",
            data={"changes": {"level": ["B", "A"]}},
            at=now - dt.timedelta(hours=i),
        )

    assert count(client, path) == few


@pytest.mark.parametrize("username", ["admin", "zhang_wei"])
def test_search_api_queries_do_not_grow_with_rows(org, username):
    user = getattr(org, username)
    headers = bearer(user)
    make(org.zhang_wei, "杭州鑫盛电子科技有限公司")
    # Each query matches one entity, before and after: customers, customers, contacts,
    # contacts (phone suffix).
    few = {
        q: count(Client(), "/api/v1/search", data={"q": q}, headers=headers)
        for q in ("鑫盛", "xsdz", "联系人", "5678")
    }
    for i in range(30):
        make(org.zhang_wei, f"宁波鑫盛电子{i}有限公司", n_contacts=2)
        make(org.wang_fang, f"深圳鑫盛电子{i}有限公司")  # candidates zhang.wei may not see
    for q, n in few.items():
        assert count(Client(), "/api/v1/search", data={"q": q}, headers=headers) == n, q


# ------------------------------------------------------------------ the rep's query shape


@pytest.fixture
def book(org):
    """Customers of several owners, collaborations, the pool and the recycle bin."""
    mine = [make(org.zhang_wei, f"张伟客户{i}", level="AB"[i % 2]) for i in range(4)]
    theirs = [make(org.wang_fang, f"王芳客户{i}") for i in range(3)]
    managers = [make(org.li_na, f"李娜客户{i}") for i in range(2)]
    pooled = make(org.zhang_wei, "公海客户")
    services.customer_release(actor=org.zhang_wei, customer=pooled, reason="无意向")
    gone = make(org.zhang_wei, "已删除客户")
    services.customer_delete(actor=org.zhang_wei, customer=gone)
    shared = theirs[0]
    CustomerCollaborator.objects.create(customer=shared, user=org.zhang_wei)
    shared_gone = make(org.wang_fang, "协作后删除")
    CustomerCollaborator.objects.create(customer=shared_gone, user=org.zhang_wei)
    services.customer_delete(actor=org.wang_fang, customer=shared_gone)
    return {"mine": mine, "theirs": theirs, "managers": managers, "shared": shared}


def ids(qs: Any) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def test_visible_owned_is_visible_without_the_pool(org, book):
    for user in (
        org.admin,
        org.director,
        org.li_na,
        org.zhang_wei,
        org.huang_qiang,
        org.wang_fang,
        org.zhao_min,
        org.chen_jing,
        org.liu_yang,
    ):
        clear_cache(user)
        expected = ids(visible(user, Customer).filter(owner__isnull=False))
        assert ids(customers_visible_owned(user)) == expected, user.username


def test_rep_list_uses_the_union_and_matches_visible(org, book):
    rep = org.zhang_wei
    qs = customers_visible_owned(rep)
    sql = str(qs.query)
    assert "UNION ALL" in sql
    assert ids(qs) == {c.pk for c in book["mine"]} | {book["shared"].pk}
    # The list with filters and keyset pages gives the same rows as visible() would.
    walked: list[int] = []
    cursor = None
    while True:
        page = customer_list(actor=rep, filters={"level": "A"}, cursor=cursor, limit=1)
        walked.extend(c.pk for c in page.items)
        cursor = page.next
        if not cursor:
            break
    expected = visible(rep, Customer).filter(owner__isnull=False, level="A").order_by("-id")
    assert walked == list(expected.values_list("pk", flat=True))


def test_rep_who_manages_someone_keeps_the_plain_shape(org, book):
    """Reports widen what a rep sees: the plain predicate is used (and is equal anyway)."""
    from crm.access.models import User

    User.objects.filter(pk=org.wang_fang.pk).update(manager=org.zhang_wei)
    rep = org.zhang_wei
    clear_cache(rep)
    qs = customers_visible_owned(rep)
    assert "UNION" not in str(qs.query)
    assert ids(qs) == ids(visible(rep, Customer).filter(owner__isnull=False))
    assert {c.pk for c in book["theirs"]} <= ids(qs)


def test_role_without_view_sees_nothing(org, book):
    from crm.access.tests.factories import UserFactory

    nobody = UserFactory(username="nobody", department=org.east)
    assert ids(customers_visible_owned(nobody)) == set()


# ------------------------------------------------------------------ query plans (SQLite)


def plan(qs: Any) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
def test_plans_use_selective_indexes(org, book):
    """Without statistics SQLite trusts any index; these plans must not walk a whole table.

    A plain index on deleted_at served "deleted_at IS NULL" (every live row) in id order,
    and the rep's OR (own, collaborating, pool) was walked in id order as well: both took
    seconds at a million customers (docs/benchmarks.md).
    """
    from crm.customers.models import Contact

    rep = org.zhang_wei
    ids = [c.pk for c in book["mine"]]
    contacts = plan(
        visible(rep, Contact).filter(customer_id__in=ids, is_primary=True).order_by("id")
    )
    assert "contact_customer_id" in contacts, contacts
    assert "deleted_at" not in contacts, contacts
    rows = plan(customers_visible_owned(rep).filter(level="A").order_by("-id")[:51])
    assert "customer_owner_alive" in rows, rows
    assert "deleted_at" not in rows, rows
    assert "SCAN" not in rows, rows
