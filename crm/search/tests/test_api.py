"""GET /api/v1/search: ranked hits limited to what the caller may see, through field security."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.access.services import field_rule_set
from crm.customers import services
from tests.api.clients import ApiClient, api_client, assert_error

TESTDATA = Path("/work/shared/testdata")
CREDIT_CODE = "91350100M000100Y43"


@pytest.fixture
def hik(org):
    return services.customer_create(
        actor=org.zhang_wei,
        data={
            "name": "杭州海康威视数字技术股份有限公司",
            "credit_code": CREDIT_CODE,
            "province": "浙江",
            "city": "杭州",
            "industry": "安防",
        },
        contacts=[
            {
                "name": "王建国",
                "title": "采购经理",
                "mobile": "138 1234 5678",
                "email": "wjg@hik.com",
            }
        ],
    )


def _search(client: ApiClient, q: str, **params: object) -> list[dict]:
    response = client.get("/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"items"}
    return body["items"]


@pytest.mark.parametrize(
    ("q", "entity", "reason"),
    [
        ("海康威视", "customer", "名称"),
        ("hkws", "customer", "拼音"),
        ("wangjianguo", "contact", "拼音"),
        ("wjg", "contact", "拼音"),
        ("5678", "contact", "电话"),
        ("wjg@hik.com", "contact", None),
        (CREDIT_CODE, "customer", None),
    ],
)
def test_search_finds_by_every_key(org, hik, q, entity, reason):
    items = _search(api_client(org.zhang_wei), q)
    assert items, q
    top = items[0]
    assert set(top) == {
        "entity",
        "entity_label",
        "id",
        "title",
        "subtitle",
        "url",
        "reason",
        "score",
    }
    assert top["entity"] == entity
    expected_id = hik.pk if entity == "customer" else hik.contacts.get().pk
    assert top["id"] == expected_id
    assert top["url"].startswith(f"/customers/{hik.pk}/")
    if reason:
        assert top["reason"].startswith(reason)
    assert isinstance(top["score"], int)


def test_search_result_lines(org, hik):
    items = _search(api_client(org.zhang_wei), "王建国")
    contact = next(i for i in items if i["entity"] == "contact")
    assert contact["title"] == "王建国"
    # The company only: no phone, no email, in a result line.
    assert contact["subtitle"].startswith(hik.name)
    customer = _search(api_client(org.zhang_wei), "海康")[0]
    assert customer["subtitle"] == "浙江 杭州 · 安防"


def test_search_is_limited_to_what_the_caller_may_see(org, hik):
    south = api_client(org.wang_fang)
    for q in ("海康", "hkws", "王建国", "wjg", "5678", "wjg@hik.com", CREDIT_CODE):
        assert _search(south, q) == [], q
    # The manager of the owner sees it; so does marketing (all customers, read-only).
    assert _search(api_client(org.li_na), "海康")[0]["id"] == hik.pk
    assert _search(api_client(org.zhao_min), "海康")[0]["id"] == hik.pk
    # Deleted: gone from search for everyone.
    services.customer_delete(actor=org.zhang_wei, customer=hik)
    assert _search(api_client(org.zhang_wei), "海康") == []


def test_search_masks_for_marketing(org, hik):
    marketing = api_client(org.zhao_min)
    for q in ("王建国", "wjg", "5678"):
        items = _search(marketing, q)
        hit = next(i for i in items if i["entity"] == "contact")
        assert hit["subtitle"].startswith(hik.name)
        text = json.dumps(items, ensure_ascii=False)
        assert "1234" not in text and "13812345678" not in text


def test_search_hides_hidden_fields(org, hik):
    field_rule_set(
        actor=org.admin, role=org.roles["marketing"], entity="customer", field="industry",
        access="hidden",
    )  # fmt: skip
    field_rule_set(
        actor=org.admin, role=org.roles["marketing"], entity="contact", field="name",
        access="masked",
    )  # fmt: skip
    marketing = api_client(org.zhao_min)
    customer = _search(marketing, "海康")[0]
    assert customer["subtitle"] == "浙江 杭州"
    contact = next(i for i in _search(marketing, "5678") if i["entity"] == "contact")
    assert contact["title"] != "王建国" and "****" in contact["title"]


def test_search_params(org, hik):
    client = api_client(org.zhang_wei)
    assert {i["entity"] for i in _search(client, "wjg", entity="customer")} <= {"customer"}
    assert [i["entity"] for i in _search(client, "wjg", entity="contact")] == ["contact"]
    assert _search(client, "wjg", entity="nope") == []
    assert _search(client, "") == []
    assert_error(client.get("/search"), 422, "q")
    assert_error(client.get("/search", {"q": "x", "limit": 0}), 422, "limit")
    assert_error(client.get("/search", {"q": "x", "limit": 51}), 422, "limit")
    assert_error(client.get("/search", {"q": "x" * 201}), 422, "q")
    assert_error(client.get("/search", {"q": "a\x00b"}), 422, "q")
    assert_error(ApiClient().get("/search", {"q": "海康"}), 401)


def test_search_ranks_exact_name_first(org, hik):
    other = services.customer_create(
        actor=org.zhang_wei, data={"name": "海康"}, allow_duplicate=True
    )
    items = _search(api_client(org.zhang_wei), "海康")
    assert items[0]["id"] == other.pk
    assert items[0]["score"] >= items[1]["score"]


def _hostile() -> list[str]:
    blns = json.loads((TESTDATA / "blns.json").read_text(encoding="utf-8"))
    text = (TESTDATA / "seclists__quick-SQLi.txt").read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    picked = [s for s in blns if s][::25] + lines[::10]
    extra = ['"', "*", "NEAR(a b)", "a OR b", "a AND NOT b", "(", ")", "^", ":", "-", "!", "\\",
             "'", "%", "_", "a:b", "col:val", "&", "|", "<->", "!!!", "1 & 2", "'':*"]  # fmt: skip
    return [s.encode("utf-8", "replace").decode("utf-8") for s in picked + extra]


def test_hostile_queries_never_5xx(org, hik):
    client = api_client(org.zhang_wei)
    for q in _hostile():
        response = client.get("/search", {"q": q})
        assert response.status_code in (200, 422), (q, response.content[:300])
        if response.status_code == 422:
            assert_error(response, 422)
