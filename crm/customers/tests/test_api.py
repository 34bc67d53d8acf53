"""The customers API: customers, contacts, tags, custom fields, the pool and handover.

Wiring and contracts (CRUD, 409 on duplicates and stale versions, 422 naming the field),
permissions (another region's customer is a 404 everywhere; a manager reads but does not
edit), field-level security in every response, pagination, and hostile input.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.customers import services
from crm.customers.models import Contact, Customer, HandoverBatch
from crm.customers.normalize import CREDIT_ALPHABET, credit_code_check_char
from crm.customfields.services import custom_field_create
from tests.api.clients import api_client, assert_error, walk_pages

TESTDATA = Path("/work/shared/testdata")


def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character) numbered n."""
    body = f"91330100MA{n:07d}"
    assert all(c in CREDIT_ALPHABET for c in body)
    return body + credit_code_check_char(body)


def make_customer(actor, name: str, contacts=None, **data):
    return services.customer_create(actor=actor, data={"name": name, **data}, contacts=contacts)


@pytest.fixture
def rep_api(org):
    return api_client(org.zhang_wei)


@pytest.fixture
def south_api(org):
    return api_client(org.wang_fang)


@pytest.fixture
def manager_api(org):
    return api_client(org.li_na)


@pytest.fixture
def marketing_api(org):
    return api_client(org.zhao_min)


@pytest.fixture
def admin_api(org):
    return api_client(org.admin)


@pytest.fixture
def east_customer(org):
    """A 华东 customer owned by zhang.wei, with one contact."""
    return make_customer(
        org.zhang_wei,
        "杭州海康威视数字技术股份有限公司",
        contacts=[{"name": "王建国", "mobile": "138 1234 5678", "email": "wjg@hik.com"}],
        credit_code=credit_code(1),
        level="A",
        province="浙江",
        city="杭州",
    )


# ---------------------------------------------------------------- CRUD


def test_customer_crud(org, rep_api):
    custom_field_create(
        actor=org.admin, entity="customer", key="scale", label="规模", type="choice",
        choices=["大", "中", "小"],
    )  # fmt: skip
    tag = rep_api.post("/tags", {"name": "x"})
    assert tag.status_code == 403  # reps do not create tags
    admin = api_client(org.admin)
    tag_id = admin.post("/tags", {"name": "行业/制造业"}).json()["id"]

    response = rep_api.post(
        "/customers",
        {
            "name": "上海（浦东）精密机械有限公司",
            "credit_code": credit_code(2).lower(),
            "level": "B",
            "province": "上海",
            "city": "上海",
            "contacts": [
                {"name": "李雷", "mobile": "+86 139-0000-1111", "role": "decision_maker"},
                {"name": "韩梅梅", "email": "Han@Example.COM"},
            ],
            "tags": [tag_id],
            "custom": {"scale": "大"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    cid = body["id"]
    assert body["name"] == "上海(浦东)精密机械有限公司"
    assert body["credit_code"] == credit_code(2)
    assert body["owner_id"] == org.zhang_wei.pk
    assert body["department_id"] == org.east.pk
    assert body["in_pool"] is False
    assert body["custom"] == {"scale": "大"}
    assert [t["full_name"] for t in body["tags"]] == ["行业/制造业"]
    assert body["completeness"] > 0
    contacts = {c["name"]: c for c in body["contacts"]}
    assert contacts["李雷"]["mobile"] == "+8613900001111"
    assert contacts["李雷"]["is_primary"] is True
    assert contacts["韩梅梅"]["email"].lower() == "han@example.com"
    assert "mobile_raw" not in contacts["李雷"]

    detail = rep_api.get(f"/customers/{cid}")
    assert detail.status_code == 200
    assert detail.json()["version"] == body["version"]

    patched = rep_api.patch(
        f"/customers/{cid}", {"version": body["version"], "city": "上海市", "level": "A"}
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["city"] == "上海市"
    assert patched.json()["version"] == body["version"] + 1
    # Fields not sent keep their values.
    assert patched.json()["province"] == "上海"

    listed = rep_api.get("/customers", {"level": "A"}).json()
    assert [c["id"] for c in listed["items"]] == [cid]

    timeline = rep_api.get(f"/customers/{cid}/timeline").json()["items"]
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "updated" and "created" in kinds
    assert timeline[0]["data"]["changes"]["city"] == ["上海", "上海市"]
    assert timeline[0]["actor_id"] == org.zhang_wei.pk

    deleted = rep_api.delete(f"/customers/{cid}")
    assert deleted.status_code == 204
    assert_error(rep_api.get(f"/customers/{cid}"), 404)
    # In the recycle bin, not gone.
    assert Customer.all_objects.get(pk=cid).deleted_at is not None
    assert rep_api.get("/customers").json()["items"] == []


def test_contact_crud(org, rep_api, east_customer):
    response = rep_api.post(
        "/contacts",
        {"customer_id": east_customer.pk, "name": "赵工", "phone": "0571-8888 6666",
         "birthday": "1980-01-31", "role": "technical", "title": "总工"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    contact = response.json()
    assert contact["customer_id"] == east_customer.pk
    assert contact["customer"] == east_customer.name
    assert contact["phone"] == "+8657188886666"
    assert contact["birthday"] == "1980-01-31"
    assert contact["is_primary"] is False

    got = rep_api.get(f"/contacts/{contact['id']}").json()
    assert got == contact

    patched = rep_api.patch(
        f"/contacts/{contact['id']}", {"version": contact["version"], "title": "技术总监"}
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "技术总监"
    stale = rep_api.patch(
        f"/contacts/{contact['id']}", {"version": contact["version"], "title": "X"}
    )
    body = assert_error(stale, 409)
    assert body["current"]["title"] == "技术总监"
    assert body["current"]["version"] == contact["version"] + 1

    listed = rep_api.get("/contacts", {"customer": east_customer.pk, "role": "technical"})
    assert [c["id"] for c in listed.json()["items"]] == [contact["id"]]

    assert rep_api.delete(f"/contacts/{contact['id']}").status_code == 204
    assert_error(rep_api.get(f"/contacts/{contact['id']}"), 404)
    assert Contact.all_objects.get(pk=contact["id"]).deleted_at is not None


def test_duplicate_is_409_with_existing_id(org, rep_api, south_api, admin_api, east_customer):
    response = south_api.post("/customers", {"name": "杭州海康威视数字技术 有限公司"})
    body = assert_error(response, 409, "name")
    assert body["existing_id"] == east_customer.pk
    # The owner and department are named, though wang.fang cannot open the record.
    assert org.zhang_wei.name in body["detail"]
    assert "华东销售部" in body["detail"]
    # Same credit code under another name; same phone (in another format).
    body = assert_error(
        south_api.post("/customers", {"name": "别的公司", "credit_code": credit_code(1)}), 409
    )
    assert body["existing_id"] == east_customer.pk
    body = assert_error(
        south_api.post(
            "/customers",
            {"name": "第三家公司", "contacts": [{"name": "某人", "mobile": "13812345678"}]},
        ),
        409,
    )
    assert body["existing_id"] == east_customer.pk
    # Only an administrator may override; for a rep the flag changes nothing.
    dup = {"name": "杭州海康威视数字技术股份有限公司", "allow_duplicate": True}
    assert_error(south_api.post("/customers", dup), 409)
    assert admin_api.post("/customers", dup).status_code == 201
    assert Customer.objects.filter(name_key=east_customer.name_key).count() == 2

    # Instead of a duplicate, ask to collaborate on the existing record.
    req = south_api.post(
        f"/customers/{east_customer.pk}/collaboration-requests",
        {"reason": "客户在深圳的分公司由我跟进"},
    )
    assert req.status_code == 201
    assert req.json()["customer_id"] == east_customer.pk
    assert req.json()["status"] == "pending"
    assert_error(south_api.post("/customers/999999/collaboration-requests", {}), 404)


def test_stale_patch_is_409_with_current_values(org, rep_api, east_customer):
    v = east_customer.version
    assert (
        rep_api.patch(f"/customers/{east_customer.pk}", {"version": v, "city": "宁波"}).status_code
        == 200
    )
    response = rep_api.patch(f"/customers/{east_customer.pk}", {"version": v, "city": "温州"})
    body = assert_error(response, 409)
    assert body["current"]["city"] == "宁波"
    assert body["current"]["version"] == v + 1
    assert body["current"]["id"] == east_customer.pk
    east_customer.refresh_from_db()
    assert east_customer.city == "宁波"
    # version is required.
    assert_error(rep_api.patch(f"/customers/{east_customer.pk}", {"city": "温州"}), 422, "version")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "A公司", "credit_code": "91350100M000100Y44"}, "credit_code"),
        ({"name": "A公司", "credit_code": "123"}, "credit_code"),
        ({"name": "A公司", "credit_code": "91350100M000100YO3"}, "credit_code"),
        ({"name": "A公司", "contacts": [{"name": "甲", "mobile": "12345"}]}, "contacts.0.mobile"),
        ({"name": "A公司", "contacts": [{"name": "甲"}, {"name": "乙", "email": "a@@b"}]},
         "contacts.1.email"),
        ({"name": "A公司", "contacts": [{"mobile": "13900001111"}]}, "contacts.0.name"),
        ({"name": "A公司", "contacts": [{"name": "甲", "birthday": "1980-13-01"}]},
         "contacts.0.birthday"),
        ({"name": "A公司", "level": "Z"}, "level"),
        ({"name": "A公司", "status": "nope"}, "status"),
        ({"name": "A公司", "custom": {"nope": 1}}, "custom.nope"),
        ({"name": "A" * 201}, "name"),
        ({"name": ""}, "name"),
        ({"name": "A公司", "tags": [999999]}, "tags"),
        ({"name": "A公司", "owner_id": 999999}, "owner_id"),
        ({}, "name"),
    ],
)  # fmt: skip
def test_create_invalid_is_422_naming_the_field(org, rep_api, payload, field):
    before = Customer.all_objects.count()
    assert_error(rep_api.post("/customers", payload), 422, field)
    assert Customer.all_objects.count() == before


def test_contact_invalid_phone_and_email_422(org, rep_api, east_customer):
    contact = east_customer.contacts.get()
    assert_error(
        rep_api.post("/contacts", {"customer_id": east_customer.pk, "name": "甲", "mobile": "abc"}),
        422,
        "mobile",
    )
    assert_error(
        rep_api.patch(f"/contacts/{contact.pk}", {"version": contact.version, "email": "no-at"}),
        422,
        "email",
    )
    assert_error(
        rep_api.patch(f"/contacts/{contact.pk}", {"version": contact.version, "phone": "1"}),
        422,
        "phone",
    )
    assert_error(
        rep_api.post("/contacts", {"customer_id": 999999, "name": "甲"}), 422, "customer_id"
    )


# ---------------------------------------------------------------- permissions


def test_other_region_customer_is_404_everywhere(org, south_api, east_customer):
    cid = east_customer.pk
    contact = east_customer.contacts.get()
    assert_error(south_api.get(f"/customers/{cid}"), 404)
    assert_error(south_api.patch(f"/customers/{cid}", {"version": 1, "city": "深圳"}), 404)
    assert_error(south_api.delete(f"/customers/{cid}"), 404)
    assert_error(south_api.get(f"/customers/{cid}/timeline"), 404)
    assert_error(south_api.post(f"/customers/{cid}/claim"), 404)
    assert_error(south_api.post(f"/customers/{cid}/release", {"reason": "x"}), 404)
    assert_error(south_api.get(f"/contacts/{contact.pk}"), 404)
    assert_error(south_api.patch(f"/contacts/{contact.pk}", {"version": 1, "name": "x"}), 404)
    assert_error(south_api.delete(f"/contacts/{contact.pk}"), 404)
    assert_error(
        south_api.post("/contacts", {"customer_id": cid, "name": "甲"}), 422, "customer_id"
    )
    assert_error(
        south_api.post("/customers/bulk-tag", {"customer_ids": [cid], "tag_ids": [1]}), 422
    )
    assert south_api.get("/customers").json()["items"] == []
    assert south_api.get("/customers", {"q": "海康"}).json()["items"] == []
    assert south_api.get("/contacts").json()["items"] == []
    for q in ("海康威视", "hkws", "王建国", "wjg", "5678", "wjg@hik.com", credit_code(1)):
        assert south_api.get("/search", {"q": q}).json() == {"items": []}, q
    # A missing id answers the same way.
    assert_error(south_api.get("/customers/999999"), 404)
    east_customer.refresh_from_db()
    assert east_customer.city == "杭州" and east_customer.deleted_at is None


def test_manager_reads_but_does_not_edit(org, manager_api, east_customer):
    cid = east_customer.pk
    response = manager_api.get(f"/customers/{cid}")
    assert response.status_code == 200
    body = response.json()
    assert body["owner_id"] == org.zhang_wei.pk
    assert manager_api.get(f"/customers/{cid}/timeline").status_code == 200
    assert [c["id"] for c in manager_api.get("/customers").json()["items"]] == [cid]
    assert manager_api.get("/search", {"q": "海康"}).json()["items"][0]["id"] == cid
    v = east_customer.version
    response = manager_api.patch(f"/customers/{cid}", {"version": v, "city": "上海"})
    assert response.status_code in (403, 404)
    assert_error(response, response.status_code)
    assert manager_api.delete(f"/customers/{cid}").status_code in (403, 404)
    assert manager_api.post(f"/customers/{cid}/release", {"reason": "x"}).status_code in (403, 404)
    contact = east_customer.contacts.get()
    response = manager_api.patch(
        f"/contacts/{contact.pk}", {"version": contact.version, "name": "x"}
    )
    assert response.status_code in (403, 404)
    east_customer.refresh_from_db()
    assert (east_customer.city, east_customer.version, east_customer.owner_id) == (
        "杭州",
        v,
        org.zhang_wei.pk,
    )
    assert east_customer.deleted_at is None


def test_marketing_sees_phones_masked_everywhere(org, marketing_api, east_customer):
    contact = east_customer.contacts.get()
    # List.
    items = marketing_api.get("/contacts").json()["items"]
    assert [c["id"] for c in items] == [contact.pk]
    masked = items[0]["mobile"]
    assert "****" in masked and masked.endswith("5678") and "1234" not in masked
    # Detail, and the contacts embedded in the customer.
    detail = marketing_api.get(f"/contacts/{contact.pk}").json()
    assert detail["mobile"] == masked
    assert detail["email"] == "wjg@hik.com"  # only phones are masked for marketing
    embedded = marketing_api.get(f"/customers/{east_customer.pk}").json()["contacts"]
    assert embedded[0]["mobile"] == masked
    # Search: the contact's line names the company, never the phone.
    for q in ("王建国", "5678"):
        hits = marketing_api.get("/search", {"q": q}).json()["items"]
        hit = next(h for h in hits if h["entity"] == "contact")
        assert hit["title"] == "王建国"
        assert hit["subtitle"] == east_customer.name
        assert "1234" not in json.dumps(hits)
    # Nowhere in any response is the clear number.
    for path in ("/contacts", f"/contacts/{contact.pk}", f"/customers/{east_customer.pk}"):
        text = marketing_api.get(path).content.decode()
        assert "13812345678" not in text and "138 1234 5678" not in text
    # A phone change on the timeline is masked too.
    services.contact_update(
        actor=org.zhang_wei, contact=contact, expected_version=contact.version,
        data={"mobile": "13900002222"},
    )  # fmt: skip
    timeline = marketing_api.get(f"/customers/{east_customer.pk}/timeline").content.decode()
    assert "13900002222" not in timeline and "13812345678" not in timeline
    assert "****2222" in timeline
    # The owner still sees clear values.
    owner_view = api_client(org.zhang_wei).get(f"/contacts/{contact.pk}").json()
    assert owner_view["mobile"] == "+8613900002222"
    # Marketing may not edit contacts.
    response = marketing_api.patch(f"/contacts/{contact.pk}", {"version": 99, "name": "x"})
    assert response.status_code in (403, 404)


def test_hidden_field_is_absent(org, rep_api, east_customer):
    from crm.access.services import field_rule_set

    field_rule_set(
        actor=org.admin, role=org.roles["sales_rep"], entity="customer", field="credit_code",
        access="hidden",
    )  # fmt: skip
    body = api_client(org.zhang_wei).get(f"/customers/{east_customer.pk}").json()
    assert "credit_code" not in body
    assert body["name"] == east_customer.name
    listed = api_client(org.zhang_wei).get("/customers").json()["items"][0]
    assert "credit_code" not in listed


# ---------------------------------------------------------------- lists


def test_pagination_walk(org, rep_api):
    for i in range(25):
        make_customer(org.zhang_wei, f"分页测试{i:02d}号公司")
    pages = []
    query = {"limit": 10}
    while True:
        body = rep_api.get("/customers", query).json()
        pages.append(body["items"])
        if body["next"] is None:
            break
        query["cursor"] = body["next"]
    assert [len(p) for p in pages] == [10, 10, 5]
    ids = [c["id"] for p in pages for c in p]
    assert len(set(ids)) == 25
    assert ids == sorted(ids, reverse=True)
    # Another sort, walked with the shared helper.
    by_name = walk_pages(rep_api, "/customers", {"limit": 7, "sort": "name"})
    assert [c["name"] for c in by_name] == sorted(c["name"] for c in by_name)
    assert len({c["id"] for c in by_name}) == 25


def test_list_filters_and_bad_input(org, rep_api):
    a = make_customer(org.zhang_wei, "甲公司", level="A", province="浙江", city="杭州")
    make_customer(org.zhang_wei, "乙公司", level="B", province="江苏", city="南京")
    assert [c["id"] for c in rep_api.get("/customers", {"province": "浙江"}).json()["items"]] == [
        a.pk
    ]
    assert [c["id"] for c in rep_api.get("/customers", {"q": "jgs"}).json()["items"]] == [a.pk]
    assert len(rep_api.get("/customers", {"owner": "me"}).json()["items"]) == 2
    assert rep_api.get("/customers", {"owner": str(org.wang_fang.pk)}).json()["items"] == []
    assert len(rep_api.get("/customers", {"department": org.east.pk}).json()["items"]) == 2
    assert rep_api.get("/customers", {"department": org.south.pk}).json()["items"] == []
    assert rep_api.get("/customers", {"completeness_min": 100}).json()["items"] == []
    assert_error(rep_api.get("/customers", {"sort": "password"}), 422, "sort")
    assert_error(rep_api.get("/customers", {"owner": "everyone"}), 422, "owner")
    assert_error(rep_api.get("/customers", {"owner": "9" * 30}), 422, "owner")
    assert_error(rep_api.get("/customers", {"completeness_min": 101}), 422, "completeness_min")
    assert_error(rep_api.get("/customers", {"cursor": "garbage!"}), 422, "cursor")
    assert_error(rep_api.get("/customers", {"tag": "x"}), 422, "tag")
    assert_error(rep_api.get("/customers/99999999999999999999999"), 422)
    assert_error(rep_api.get("/customers/0"), 422)
    assert_error(rep_api.get("/customers/abc"), 422)


def test_list_query_count_is_fixed(org, rep_api):
    tag = services.tag_create(actor=org.admin, name="重点")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_api.get("/customers", {"level": "A", "limit": 50}).status_code == 200
        return len(ctx)

    make_customer(org.zhang_wei, "初始公司", level="A")
    count()  # warm up: the token's last-use stamp is written on first use
    first = count()
    for i in range(15):
        c = make_customer(org.zhang_wei, f"计数{i}公司", level="A")
        services.customers_tag(actor=org.zhang_wei, customer_ids=[c.pk], tags=[tag])
    assert count() == first


def test_custom_field_filter(org, rep_api, admin_api):
    response = admin_api.post(
        "/custom-fields",
        {
            "entity": "customer",
            "key": "scale",
            "label": "规模",
            "type": "choice",
            "choices": ["大", "小"],
        },
    )
    assert response.status_code == 201, response.content
    admin_api.post(
        "/custom-fields", {"entity": "customer", "key": "remark", "label": "备注2", "type": "text"}
    )
    big = rep_api.post(
        "/customers", {"name": "大公司", "custom": {"scale": "大", "remark": "重要客户"}}
    ).json()
    small = rep_api.post("/customers", {"name": "小公司", "custom": {"scale": "小"}}).json()
    rep_api.post("/customers", {"name": "不知道公司"})
    ids = lambda r: [c["id"] for c in r.json()["items"]]  # noqa: E731
    assert ids(rep_api.get("/customers", {"custom.scale": "大"})) == [big["id"]]
    assert ids(rep_api.get("/customers", {"custom.scale": "小"})) == [small["id"]]
    assert ids(rep_api.get("/customers", {"custom.remark": "重要"})) == [big["id"]]
    # Unknown keys are ignored, like unknown query parameters.
    assert len(ids(rep_api.get("/customers", {"custom.nope": "x"}))) == 3
    assert_error(rep_api.get("/customers", {"custom.scale": "大\x00"}), 422)
    # Invalid value for a choice field names the field.
    assert_error(
        rep_api.post("/customers", {"name": "丙公司", "custom": {"scale": "巨"}}),
        422,
        "custom.scale",
    )
    # Clear one value with PATCH (null), keep the other.
    patched = rep_api.patch(
        f"/customers/{big['id']}", {"version": big["version"], "custom": {"remark": None}}
    ).json()
    assert patched["custom"] == {"scale": "大"}


def test_custom_field_api(org, rep_api, admin_api):
    payload = {"entity": "contact", "key": "hobby", "label": "爱好", "type": "multichoice",
               "choices": ["高尔夫", "钓鱼"]}  # fmt: skip
    assert_error(rep_api.post("/custom-fields", payload), 403)
    response = admin_api.post("/custom-fields", payload)
    assert response.status_code == 201
    field = response.json()
    assert_error(admin_api.post("/custom-fields", payload), 422, "key")
    assert_error(admin_api.post("/custom-fields", {**payload, "key": "Bad Key"}), 422, "key")
    assert_error(
        admin_api.post("/custom-fields", {**payload, "entity": "nope", "key": "k"}), 422, "entity"
    )
    assert_error(
        admin_api.post("/custom-fields", {**payload, "key": "k2", "type": "blob"}), 422, "type"
    )
    # Everyone may read the definitions.
    listed = rep_api.get("/custom-fields", {"entity": "contact"}).json()["items"]
    assert [f["key"] for f in listed] == ["hobby"]
    assert rep_api.get("/custom-fields", {"entity": "customer"}).json()["items"] == []
    assert_error(rep_api.get("/custom-fields", {"entity": "nope"}), 422, "entity")
    assert rep_api.get(f"/custom-fields/{field['id']}").json()["label"] == "爱好"
    assert_error(rep_api.get("/custom-fields/999999"), 404)
    # PATCH with version; stale is 409; reps 403.
    assert_error(rep_api.patch(f"/custom-fields/{field['id']}", {"version": 1, "label": "x"}), 403)
    patched = admin_api.patch(
        f"/custom-fields/{field['id']}", {"version": field["version"], "label": "兴趣爱好"}
    )
    assert patched.status_code == 200 and patched.json()["label"] == "兴趣爱好"
    stale = admin_api.patch(
        f"/custom-fields/{field['id']}", {"version": field["version"], "label": "y"}
    )
    assert assert_error(stale, 409)["current"]["label"] == "兴趣爱好"
    # Deactivated fields are listed only on request.
    admin_api.patch(
        f"/custom-fields/{field['id']}", {"version": field["version"] + 1, "is_active": False}
    )
    assert rep_api.get("/custom-fields").json()["items"] == []
    assert len(rep_api.get("/custom-fields", {"include_inactive": True}).json()["items"]) == 1


# ---------------------------------------------------------------- tags


def test_tags_tree_and_bulk_tag(org, rep_api, admin_api):
    leaf = admin_api.post("/tags", {"name": "行业/制造业/汽车零部件", "color": "red"})
    assert leaf.status_code == 201
    leaf = leaf.json()
    assert leaf["full_name"] == "行业/制造业/汽车零部件"
    assert leaf["depth"] == 2
    other = admin_api.post("/tags", {"name": "行业 B"}).json()
    tags = walk_pages(rep_api, "/tags", {"limit": 2})
    assert [t["full_name"] for t in tags] == [
        "行业",
        "行业/制造业",
        "行业/制造业/汽车零部件",
        "行业 B",
    ]
    assert [t["depth"] for t in tags] == [0, 1, 2, 0]
    root = tags[0]
    assert tags[1]["parent_id"] == root["id"]

    a = make_customer(org.zhang_wei, "甲公司")
    b = make_customer(org.zhang_wei, "乙公司")
    response = rep_api.post(
        "/customers/bulk-tag", {"customer_ids": [a.pk, b.pk], "tag_ids": [leaf["id"]], "add": True}
    )
    assert response.json() == {"changed": 2}
    # Filtering by an ancestor includes descendants.
    found = rep_api.get("/customers", {"tag": root["id"]}).json()["items"]
    assert {c["id"] for c in found} == {a.pk, b.pk}
    assert found[0]["tags"][0]["full_name"] == "行业/制造业/汽车零部件"
    assert rep_api.get("/customers", {"tag": other["id"]}).json()["items"] == []
    response = rep_api.post(
        "/customers/bulk-tag", {"customer_ids": [a.pk], "tag_ids": [leaf["id"]], "add": False}
    )
    assert response.json() == {"changed": 1}
    assert_error(
        rep_api.post("/customers/bulk-tag", {"customer_ids": [a.pk], "tag_ids": [999999]}),
        422,
        "tag_ids",
    )
    assert_error(
        rep_api.post("/customers/bulk-tag", {"customer_ids": [], "tag_ids": [leaf["id"]]}), 422
    )

    # Rename, move, delete.
    renamed = admin_api.patch(f"/tags/{other['id']}", {"name": "地区", "parent_id": None})
    assert renamed.json()["full_name"] == "地区"
    moved = admin_api.patch(f"/tags/{other['id']}", {"parent_id": root["id"]}).json()
    assert moved["full_name"] == "行业/地区" and moved["depth"] == 1
    assert_error(admin_api.patch(f"/tags/{root['id']}", {"parent_id": leaf["id"]}), 422, "parent")
    assert_error(admin_api.delete(f"/tags/{root['id']}"), 422)
    assert_error(rep_api.delete(f"/tags/{leaf['id']}"), 403)
    assert admin_api.delete(f"/tags/{leaf['id']}").status_code == 204
    assert_error(rep_api.get(f"/tags/{leaf['id']}"), 404)


# ---------------------------------------------------------------- timeline


def test_timeline_kinds_and_cursor(org, rep_api, east_customer):
    for i in range(5):
        east_customer.refresh_from_db()
        services.customer_update(
            actor=org.zhang_wei, customer=east_customer, expected_version=east_customer.version,
            data={"address": f"地址{i}"},
        )  # fmt: skip
    events = walk_pages(rep_api, f"/customers/{east_customer.pk}/timeline", {"limit": 2})
    assert len(events) == len({e["id"] for e in events}) == 6
    assert events[-1]["kind"] == "created"
    only = rep_api.get(
        f"/customers/{east_customer.pk}/timeline", {"kinds": "created,claimed"}
    ).json()["items"]
    assert [e["kind"] for e in only] == ["created"]
    assert only[0]["label"]
    assert_error(
        rep_api.get(f"/customers/{east_customer.pk}/timeline", {"cursor": "x"}), 422, "cursor"
    )


# ---------------------------------------------------------------- pool and handover


def test_pool_release_and_claim_with_limit(org, rep_api, south_api, east_customer):
    assert_error(
        rep_api.post(f"/customers/{east_customer.pk}/release", {"reason": " "}), 422, "reason"
    )
    assert_error(rep_api.post(f"/customers/{east_customer.pk}/release", {}), 422, "reason")
    response = rep_api.post(f"/customers/{east_customer.pk}/release", {"reason": "客户暂无需求"})
    assert response.status_code == 200
    body = response.json()
    assert body["in_pool"] is True and body["owner_id"] is None
    assert body["pool_reason"] == "客户暂无需求"
    # Now in the pool: zhang.wei no longer owns it, so cannot release it again.
    assert rep_api.post(
        f"/customers/{east_customer.pk}/release", {"reason": "再次"}
    ).status_code in (403, 422)

    # Everyone sees the pool; the pool is not in the owned list.
    pool = south_api.get("/pool").json()["items"]
    assert [c["id"] for c in pool] == [east_customer.pk]
    assert south_api.get("/customers").json()["items"] == []
    assert south_api.get(f"/customers/{east_customer.pk}").status_code == 200

    # The per-rep limit: wang.fang owns one customer, the limit is one.
    make_customer(org.wang_fang, "深圳某科技有限公司")
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": 1})
    assert_error(south_api.post(f"/customers/{east_customer.pk}/claim"), 422, "owner")
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": 2})
    claimed = south_api.post(f"/customers/{east_customer.pk}/claim")
    assert claimed.status_code == 200
    assert claimed.json()["owner_id"] == org.wang_fang.pk
    assert south_api.get("/pool").json()["items"] == []
    # Already owned: a second claim is refused; zhang.wei lost sight of it.
    assert_error(rep_api.post(f"/customers/{east_customer.pk}/claim"), 404)
    kinds = [
        e["kind"] for e in south_api.get(f"/customers/{east_customer.pk}/timeline").json()["items"]
    ]
    assert kinds[:2] == ["claimed", "released"]
    # Marketing may see the pool but not claim.
    marketing = api_client(org.zhao_min)
    services.customer_release(
        actor=org.wang_fang, customer=Customer.objects.get(pk=east_customer.pk), reason="x"
    )
    assert marketing.post(f"/customers/{east_customer.pk}/claim").status_code == 403


def test_handover(org, admin_api, rep_api):
    owned = [make_customer(org.zhang_wei, f"交接{i}公司") for i in range(5)]
    payload = {"from_user_id": org.zhang_wei.pk, "to_user_ids": [org.li_na.pk, org.wang_fang.pk]}
    # Administrators only.
    response = rep_api.post("/handover", payload)
    assert response.status_code in (403, 404)
    assert_error(response, response.status_code)
    preview = admin_api.post("/handover", payload)
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["dry_run"] is True and body["batch_id"] is None
    assert body["customers"] == 5
    assert {r["user_id"]: r["customers"] for r in body["receivers"]} == {
        org.li_na.pk: 3,
        org.wang_fang.pk: 2,
    }
    assert len(body["first"]) == 5
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 5  # nothing moved
    assert_error(admin_api.post("/handover", {**payload, "to_user_ids": [org.zhang_wei.pk]}), 422)
    assert_error(
        admin_api.post("/handover", {**payload, "from_user_id": 999999}), 422, "from_user_id"
    )
    assert_error(admin_api.post("/handover", {**payload, "to_user_ids": []}), 422, "to_user_ids")

    done = admin_api.post("/handover", {**payload, "dry_run": False, "reason": "离职"})
    assert done.status_code == 201
    batch_id = done.json()["batch_id"]
    assert HandoverBatch.objects.filter(pk=batch_id).exists()
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 0
    assert Customer.objects.filter(owner=org.wang_fang).count() == 2
    assert rep_api.get(f"/customers/{owned[0].pk}").status_code == 404

    assert_error(rep_api.post(f"/handover/{batch_id}/undo"), 403)
    undone = admin_api.post(f"/handover/{batch_id}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 5
    assert_error(admin_api.post(f"/handover/{batch_id}/undo"), 422)
    assert_error(admin_api.post("/handover/999999/undo"), 404)


# ---------------------------------------------------------------- hostile input


def _naughty_strings() -> list[str]:
    blns = json.loads((TESTDATA / "blns.json").read_text(encoding="utf-8"))
    picked = random.Random(2027).sample([s for s in blns if s], 24)
    lines: list[str] = []
    for name in (
        "seclists__quick-SQLi.txt",
        "seclists__SQLi-Polyglots.txt",
        "seclists__XSS-Polyglot-Ultimate-0xsobky.txt",
    ):
        text = (TESTDATA / name).read_text(encoding="utf-8", errors="replace")
        lines.extend(line for line in text.splitlines() if line.strip())
    sqli = random.Random(11).sample(lines, 10)
    extra = ["a\x00b", "\ud800", "\u202e\u202d", "x" * 201, "🎉" * 40, "  ", '"*"', "OR",
             "NEAR(", "'; DROP TABLE customers_customer; --", "1e400", "-0", "9" * 40, "NaN",
             "*", "%", "_"]  # fmt: skip
    return picked + sqli + extra


NAUGHTY = _naughty_strings()


@pytest.mark.parametrize("text", NAUGHTY, ids=[f"s{i}" for i in range(len(NAUGHTY))])
def test_naughty_strings_never_5xx(org, rep_api, text):
    custom_field_create(actor=org.admin, entity="customer", key="n", label="数", type="number")
    custom_field_create(actor=org.admin, entity="customer", key="t", label="文", type="text")
    custom_field_create(actor=org.admin, entity="customer", key="u", label="人", type="user")
    custom_field_create(actor=org.admin, entity="customer", key="d", label="日", type="date")
    response = rep_api.post(
        "/customers", {"name": text, "contacts": [{"name": text, "mobile": text}]}
    )
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert_error(response, response.status_code)
    response = rep_api.post("/customers", {"name": text, "city": text[:30], "custom": {"t": text}})
    assert response.status_code < 500, response.content
    if response.status_code == 201:
        body = response.json()
        got = rep_api.get(f"/customers/{body['id']}").json()
        assert got["name"] == body["name"]
        patched = rep_api.patch(
            f"/customers/{body['id']}", {"version": body["version"], "notes": text}
        )
        assert patched.status_code < 500
    else:
        assert_error(response, response.status_code)
    # A URL cannot carry a lone surrogate at all: the client replaces it.
    text = text.encode("utf-8", "replace").decode("utf-8")
    for path, params in (
        ("/customers", {"q": text}),
        ("/customers", {"level": text, "city": text, "sort": text}),
        ("/customers", {"custom.n": text, "custom.t": text, "custom.u": text, "custom.d": text}),
        ("/customers", {"owner": text, "cursor": text}),
        ("/pool", {"q": text}),
        ("/contacts", {"q": text, "role": text}),
        ("/search", {"q": text}),
        ("/search", {"q": "公司", "entity": text}),
        ("/custom-fields", {"entity": text}),
    ):
        response = rep_api.get(path, params)
        assert response.status_code in (200, 422), (
            path,
            response.status_code,
            response.content[:300],
        )
        if response.status_code == 422:
            assert_error(response, 422)
