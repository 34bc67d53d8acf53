import pytest

from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.customers import services
from crm.customers.models import Customer
from crm.customers.selectors import customer_360, customer_get, customer_list
from crm.search.selectors import search


def test_create_search_and_scope(org):
    c = services.customer_create(
        actor=org.zhang_wei,
        data={
            "name": "杭州海康威视数字技术股份有限公司",
            "credit_code": "91350100M000100Y43",
            "level": "A",
        },
        contacts=[{"name": "王建国", "mobile": "138 1234 5678", "email": "wjg@hik.com"}],
    )
    assert c.completeness > 0
    hits = search(actor=org.zhang_wei, q="wjg")
    assert [h.title for h in hits] == ["王建国"]
    assert search(actor=org.zhang_wei, q="5678")[0].entity == "contact"
    assert search(actor=org.zhang_wei, q="hkws")[0].id == c.pk
    assert search(actor=org.zhang_wei, q="海康威视")[0].id == c.pk
    assert search(actor=org.wang_fang, q="海康威视") == []
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=c.pk)
    # manager sees read-only
    assert customer_get(actor=org.li_na, customer_id=c.pk)
    v = customer_360(actor=org.li_na, customer_id=c.pk)
    assert not v.can_edit
    assert v.timeline.items[0].kind == "created"
    with pytest.raises(Conflict) as exc:
        services.customer_create(
            actor=org.wang_fang, data={"name": "杭州海康威视数字技术 有限公司"}
        )
    assert exc.value.existing_id == c.pk
    with pytest.raises(ValidationFailed):
        services.customer_create(
            actor=org.wang_fang, data={"name": "X", "credit_code": "91350100M000100Y44"}
        )
    page = customer_list(actor=org.zhang_wei, filters={"level": "A"})
    assert [x.pk for x in page.items] == [c.pk]
    services.customer_update(
        actor=org.zhang_wei, customer=c, expected_version=c.version, data={"city": "杭州"}
    )
    services.customer_release(actor=org.zhang_wei, customer=c, reason="不再跟进")
    c.refresh_from_db()
    assert c.owner_id is None
    services.customer_claim(actor=org.wang_fang, customer=c)
    assert Customer.objects.get(pk=c.pk).owner_id == org.wang_fang.pk
