"""The organisation API: authentication, tokens, users, departments, roles, the registry.

Wiring, permissions (non-admin writes are 403, other people's tokens and unknown ids are 404),
field-level security, pagination, optimistic concurrency, the error shape, and hostile input.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.access.models import ApiToken, Department, FieldRule, Role, User
from crm.access.services import field_rule_set, token_create
from crm.access.tests.factories import PASSWORD, UserFactory
from crm.audit.models import AuditEntry
from tests.api.clients import ApiClient, api_client, assert_error, walk_pages

TESTDATA = Path("/work/shared/testdata")


def _cursor(values: object) -> str:
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def admin_api(org):
    return api_client(org.admin)


@pytest.fixture
def rep_api(org):
    return api_client(org.zhang_wei)


# ---------------------------------------------------------------- authentication


def test_token_login_then_me(org):
    anon = ApiClient()
    response = anon.post("/auth/token", {"username": "zhang.wei", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.startswith("crm_")
    me = ApiClient(token).get("/me")
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "zhang.wei"
    assert body["is_admin"] is False
    assert body["department_id"] == org.east.pk
    assert body["manager_id"] == org.li_na.pk
    assert [r["code"] for r in body["roles"]] == ["sales_rep"]
    # The login token is stored hashed, never in clear.
    assert not ApiToken.objects.filter(key_hash=token).exists()


def test_me_for_admin(admin_api):
    body = admin_api.get("/me").json()
    assert body["username"] == "admin"
    assert body["is_admin"] is True


def test_wrong_password_is_a_field_error(org):
    response = ApiClient().post("/auth/token", {"username": "zhang.wei", "password": "nope"})
    assert_error(response, 422, "password")


def test_unknown_user_looks_like_wrong_password(org):
    response = ApiClient().post("/auth/token", {"username": "nobody", "password": PASSWORD})
    assert_error(response, 422, "password")


def test_inactive_user_is_refused(org):
    User.objects.filter(pk=org.wang_fang.pk).update(is_active=False)
    response = ApiClient().post("/auth/token", {"username": "wang.fang", "password": PASSWORD})
    assert_error(response, 422, "password")


def test_inactive_users_token_stops_working(org):
    client = api_client(org.wang_fang)
    assert client.get("/me").status_code == 200
    User.objects.filter(pk=org.wang_fang.pk).update(is_active=False)
    assert_error(client.get("/me"), 401)


def test_token_request_missing_field(org):
    assert_error(ApiClient().post("/auth/token", {"username": "admin"}), 422, "password")


def test_lockout_after_repeated_failures_is_json_not_500(org, settings):
    settings.AXES_FAILURE_LIMIT = 3
    anon = ApiClient()
    statuses = []
    for _ in range(5):
        response = anon.post("/auth/token", {"username": "li.na", "password": "wrong"})
        statuses.append(response.status_code)
        assert response.status_code < 500
        assert response["Content-Type"].startswith("application/json")
    assert 429 in statuses
    # Locked: even the right password is refused, in the API's JSON error format.
    response = anon.post("/auth/token", {"username": "li.na", "password": PASSWORD})
    assert_error(response, 429, "username")
    # Another account is not affected.
    ok = anon.post("/auth/token", {"username": "zhang.wei", "password": PASSWORD})
    assert ok.status_code == 200


def test_failed_login_is_audited(org):
    ApiClient().post("/auth/token", {"username": "li.na", "password": "wrong"})
    assert AuditEntry.objects.filter(action="login_failed", actor_name="li.na").exists()


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nope", "Bearer crm_" + "x" * 40, "Basic YWRtaW46eA==", "Bearer \u4e2d"],
)
def test_bad_credentials_are_401_json(org, header):
    from django.test import Client

    client = Client(headers={"authorization": header} if header else {})
    assert_error(client.get("/api/v1/me"), 401)


# ---------------------------------------------------------------- personal tokens


def test_personal_tokens_create_list_revoke(org, rep_api):
    response = rep_api.post("/tokens", {"name": "脚本"})
    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith("crm_")
    assert created["prefix"] == created["token"][:12]
    assert created["is_active"] is True

    listed = walk_pages(rep_api, "/tokens")
    assert created["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)

    fresh = ApiClient(created["token"])
    assert fresh.get("/me").json()["username"] == "zhang.wei"
    assert rep_api.delete(f"/tokens/{created['id']}").status_code == 204
    assert_error(fresh.get("/me"), 401)
    revoked = next(t for t in walk_pages(rep_api, "/tokens") if t["id"] == created["id"])
    assert revoked["is_active"] is False and revoked["revoked_at"]


def test_tokens_are_private_to_their_owner(org, rep_api):
    other, _value = token_create(actor=org.li_na, name="li.na 的令牌")
    ids = [t["id"] for t in walk_pages(rep_api, "/tokens")]
    assert other.pk not in ids
    assert_error(rep_api.delete(f"/tokens/{other.pk}"), 404)
    other.refresh_from_db()
    assert other.revoked_at is None
    # Even an administrator cannot see or revoke another user's token.
    admin = api_client(org.admin)
    assert other.pk not in [t["id"] for t in walk_pages(admin, "/tokens")]
    assert_error(admin.delete(f"/tokens/{other.pk}"), 404)
    assert_error(rep_api.delete("/tokens/999999999"), 404)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        ({"name": 5}, "name"),
        ({"name": "ok", "expires_at": "9999-12-31T23:59:59-14:00"}, "expires_at"),
        ({"name": "ok", "expires_at": "0001-01-01T00:00:00"}, "expires_at"),
        ({"name": "ok", "expires_at": "not a date"}, "expires_at"),
    ],
)
def test_token_create_validation(rep_api, body, field):
    before = ApiToken.objects.count()
    assert_error(rep_api.post("/tokens", body), 422, field)
    assert ApiToken.objects.count() == before


def test_token_with_expiry(rep_api):
    response = rep_api.post("/tokens", {"name": "临时", "expires_at": "2099-01-01T00:00:00+08:00"})
    assert response.status_code == 201
    assert response.json()["expires_at"].startswith("2098-12-31T16:00:00")


# ---------------------------------------------------------------- users: reading


def test_user_list_pages_without_duplicates_or_gaps(org, rep_api):
    UserFactory.create_batch(23)
    items = walk_pages(rep_api, "/users", {"limit": 4})
    ids = [u["id"] for u in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(User.objects.values_list("pk", flat=True))
    assert ids == sorted(ids)


def test_user_list_default_and_max_page_size(org, rep_api, settings):
    settings.API_PAGE_SIZE = 3
    settings.API_MAX_PAGE_SIZE = 5
    assert len(rep_api.get("/users").json()["items"]) == 3
    assert len(rep_api.get("/users", {"limit": 1000}).json()["items"]) == 5
    assert len(rep_api.get("/users", {"limit": -1}).json()["items"]) == 3


def test_user_list_filters(org, rep_api):
    User.objects.filter(pk=org.liu_yang.pk).update(is_active=False)
    by_q = {u["username"] for u in walk_pages(rep_api, "/users", {"q": "zhang"})}
    assert by_q == {"zhang.wei"}
    sales = {u["username"] for u in walk_pages(rep_api, "/users", {"department_id": org.sales.pk})}
    assert sales == {"sun.hao", "li.na", "zhang.wei", "huang.qiang", "wang.fang"}
    east = {u["username"] for u in walk_pages(rep_api, "/users", {"department_id": org.east.pk})}
    assert east == {"li.na", "zhang.wei"}
    inactive = {u["username"] for u in walk_pages(rep_api, "/users", {"active": "false"})}
    assert inactive == {"liu.yang"}
    assert walk_pages(rep_api, "/users", {"department_id": 99999999}) == []


def test_user_detail_and_404(org, rep_api):
    body = rep_api.get(f"/users/{org.li_na.pk}").json()
    assert body["username"] == "li.na"
    assert body["department_id"] == org.east.pk and body["department"] == "华东销售部"
    assert body["manager_id"] == org.director.pk
    assert body["version"] >= 1
    assert "password" not in body
    for bad in ("999999999", "0", "-1", "99999999999999999999999"):
        assert_error(rep_api.get(f"/users/{bad}"), 404)
    assert_error(rep_api.get("/users/abc"), 422)


def test_user_list_query_count_does_not_grow_with_rows(org, rep_api):
    UserFactory.create_batch(15, department=org.east, manager=org.li_na)
    rep_api.get("/users", {"limit": 2})  # warm caches (content types, …)
    with CaptureQueriesContext(connection) as small:
        assert rep_api.get("/users", {"limit": 2}).status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert len(rep_api.get("/users", {"limit": 20}).json()["items"]) == 20
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "not-base64",
        _cursor(["abc"]),
        _cursor([[1]]),
        _cursor([1, 2]),
        _cursor({"a": 1}),
        _cursor([{"dt": "garbage"}]),
        _cursor([{"zz": 1}]),
        _cursor([10**40]),
        base64.urlsafe_b64encode(b"[NaN]").decode(),
        base64.urlsafe_b64encode(b"[Infinity]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "x" * 5000,
    ],
)
def test_bad_cursor_is_422_on_cursor(org, rep_api, cursor):
    response = rep_api.get("/users", {"cursor": cursor})
    if response.status_code == 200:  # an out-of-range id simply ends the list
        assert response.json()["items"] == []
        return
    assert_error(response, 422, "cursor")


# ---------------------------------------------------------------- field-level security


def test_masked_and_hidden_fields_stay_so_in_the_api(org, rep_api, admin_api):
    User.objects.filter(pk=org.li_na.pk).update(mobile="13812345678")
    rep_role = org.roles["sales_rep"]
    field_rule_set(actor=org.admin, role=rep_role, entity="user", field="mobile", access="masked")
    field_rule_set(actor=org.admin, role=rep_role, entity="user", field="email", access="hidden")

    detail = rep_api.get(f"/users/{org.li_na.pk}").json()
    assert detail["mobile"] == "138****5678"
    assert "email" not in detail
    listed = next(u for u in walk_pages(rep_api, "/users") if u["id"] == org.li_na.pk)
    assert listed["mobile"] == "138****5678"
    assert "email" not in listed

    # The administrator, and a role without the rule, see the clear values.
    assert admin_api.get(f"/users/{org.li_na.pk}").json()["mobile"] == "13812345678"
    manager_view = api_client(org.huang_qiang).get(f"/users/{org.li_na.pk}").json()
    assert manager_view["mobile"] == "13812345678"
    assert manager_view["email"] == "li.na@example.com"

    # The registry tells the caller its own level for each field.
    entities = {e["key"]: e for e in walk_pages(rep_api, "/entities")}
    levels = {f["name"]: f["access"] for f in entities["user"]["fields"]}
    assert levels["mobile"] == "masked" and levels["email"] == "hidden"


# ---------------------------------------------------------------- users: writing


def test_admin_creates_a_user(org, admin_api):
    body = {
        "username": "qian.lei",
        "password": "Another-pass-2026!",
        "display_name": " 钱磊 ",
        "email": "qian.lei@example.com",
        "mobile": "13900001111",
        "department_id": org.north.pk,
        "manager_id": org.director.pk,
        "role_ids": [org.roles["sales_rep"].pk, org.roles["sales_rep"].pk],
    }
    response = admin_api.post("/users", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["display_name"] == "钱磊"
    assert created["department"] == "华北销售部"
    assert [r["code"] for r in created["roles"]] == ["sales_rep"]
    user = User.objects.get(username="qian.lei")
    assert user.check_password("Another-pass-2026!")
    assert AuditEntry.objects.filter(
        action="create", entity="user", object_id=str(user.pk)
    ).exists()
    login = ApiClient().post(
        "/auth/token", {"username": "qian.lei", "password": "Another-pass-2026!"}
    )
    assert login.status_code == 200


def test_non_admin_cannot_write_users(org, rep_api):
    before = User.objects.count()
    assert_error(rep_api.post("/users", {"username": "sneaky"}), 403)
    assert User.objects.count() == before
    target = org.wang_fang
    response = rep_api.patch(
        f"/users/{target.pk}", {"version": target.version, "display_name": "改名"}
    )
    assert_error(response, 403)
    target.refresh_from_db()
    assert target.display_name != "改名"
    # A user cannot promote themselves either.
    me = org.zhang_wei
    response = rep_api.patch(
        f"/users/{me.pk}", {"version": me.version, "role_ids": [org.roles["admin"].pk]}
    )
    assert_error(response, 403)
    assert not me.roles.filter(is_admin=True).exists()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"username": "admin"}, "username"),
        ({"username": "ADMIN"}, "username"),
        ({"username": "ok1", "email": "not-an-email"}, "email"),
        ({"username": "ok2", "password": "123"}, "password"),
        ({"username": "ok3", "department_id": 999999999}, "department_id"),
        ({"username": "ok4", "manager_id": 999999999}, "manager_id"),
        ({"username": "ok5", "role_ids": [999999999]}, "role_ids"),
        ({"username": "ok6", "department_id": 0}, "department_id"),
        ({"username": "ok7", "department_id": 2**63}, "department_id"),
        ({"username": "ok8", "display_name": "x" * 101}, "display_name"),
        ({"username": "ok9", "mobile": "1" * 33}, "mobile"),
        ({"username": ["a"]}, "username"),
        ({"username": {"a": 1}}, "username"),
        ({"username": None}, "username"),
        ({"username": "ok10", "is_active": "maybe"}, "is_active"),
        ({"username": "ok11", "role_ids": "1"}, "role_ids"),
        ({"username": "a\x00b"}, "username"),
        ({"username": "ok12", "display_name": "\ud800"}, "display_name"),
        ({}, "username"),
    ],
)
def test_user_create_validation(org, admin_api, body, field):
    before = (User.objects.count(), AuditEntry.objects.count())
    assert_error(admin_api.post("/users", body), 422, field)
    assert (User.objects.count(), AuditEntry.objects.count()) == before


def test_malformed_json_is_400_json(org, admin_api):
    for raw in ("{", "not json", '{"username": "x",}', "\xff"):
        assert_error(admin_api.post("/users", raw), 400)
    assert_error(admin_api.post("/users", "[]"), 422)
    assert_error(admin_api.post("/users", '"text"'), 422)


def test_huge_input_is_refused_not_crashed(org, admin_api):
    big = "长" * 100_000
    before = _snapshot()
    assert_error(admin_api.post("/users", {"username": big}), 422, "username")
    assert_error(admin_api.post("/departments", {"name": big}), 422, "name")
    assert_error(admin_api.get("/users", {"q": big[:5000]}), 422, "q")
    # Beyond Django's request size limit: refused before parsing, still in JSON.
    assert_error(admin_api.post("/users", {"username": big * 10}), 413)
    assert _snapshot() == before


def test_admin_edits_a_user_with_version(org, admin_api):
    target = org.wang_fang
    response = admin_api.patch(
        f"/users/{target.pk}",
        {
            "version": target.version,
            "display_name": "王芳",
            "department_id": org.east.pk,
            "manager_id": org.li_na.pk,
            "role_ids": [org.roles["sales_manager"].pk],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["display_name"] == "王芳"
    assert body["department_id"] == org.east.pk and body["manager_id"] == org.li_na.pk
    assert [r["code"] for r in body["roles"]] == ["sales_manager"]
    assert body["version"] == target.version + 1
    # Clearing a nullable reference with null.
    response = admin_api.patch(
        f"/users/{target.pk}", {"version": body["version"], "manager_id": None}
    )
    assert response.status_code == 200
    assert response.json()["manager_id"] is None


def test_stale_version_is_409_with_current_values(org, admin_api):
    target = org.wang_fang
    loaded = admin_api.get(f"/users/{target.pk}").json()
    first = admin_api.patch(
        f"/users/{target.pk}", {"version": loaded["version"], "display_name": "第一次"}
    )
    assert first.status_code == 200
    second = admin_api.patch(
        f"/users/{target.pk}", {"version": loaded["version"], "display_name": "第二次"}
    )
    body = assert_error(second, 409)
    assert body["current"]["display_name"] == "第一次"
    assert body["current"]["version"] == loaded["version"] + 1
    target.refresh_from_db()
    assert target.display_name == "第一次"


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "version"),
        ({"version": "x"}, "version"),
        ({"version": -1}, "version"),
        ({"version": 2**40}, "version"),
        ({"version": 1, "display_name": None}, "display_name"),
        ({"version": 1, "username": None}, "username"),
        ({"version": 1, "is_active": None}, "is_active"),
        ({"version": 1, "role_ids": None}, "role_ids"),
        ({"version": 1, "email": "broken"}, "email"),
        ({"version": 1, "department_id": 999999999}, "department_id"),
    ],
)
def test_user_patch_validation(org, admin_api, body, field):
    target = org.wang_fang
    User.objects.filter(pk=target.pk).update(version=1)
    assert_error(admin_api.patch(f"/users/{target.pk}", body), 422, field)
    fresh = User.objects.get(pk=target.pk)
    assert (fresh.display_name, fresh.version, fresh.is_active) == (
        target.display_name,
        1,
        True,
    )


def test_manager_cycle_is_refused(org, admin_api):
    li_na = org.li_na
    response = admin_api.patch(
        f"/users/{li_na.pk}", {"version": li_na.version, "manager_id": org.zhang_wei.pk}
    )
    assert_error(response, 422, "manager")


def test_user_patch_unknown_id_is_404(org, admin_api):
    assert_error(admin_api.patch("/users/999999999", {"version": 1}), 404)


# ---------------------------------------------------------------- departments


def test_department_list_is_tree_ordered_and_pages(org, rep_api):
    items = walk_pages(rep_api, "/departments", {"limit": 3})
    ids = [d["id"] for d in items]
    assert len(ids) == len(set(ids)) == Department.objects.count()
    position = {d["id"]: i for i, d in enumerate(items)}
    for dept in items:
        if dept["parent_id"]:
            assert position[dept["parent_id"]] < position[dept["id"]]
    east = next(d for d in items if d["id"] == org.east.pk)
    assert east["name"] == "华东销售部" and east["member_count"] == 2 and east["depth"] == 2


def test_department_crud_by_admin(org, admin_api):
    response = admin_api.post(
        "/departments", {"name": "西南销售部", "parent_id": org.sales.pk, "sort": 4}
    )
    assert response.status_code == 201, response.content
    dept = response.json()
    assert dept["path"].startswith(org.sales.path)
    got = admin_api.get(f"/departments/{dept['id']}").json()
    assert got["name"] == "西南销售部"
    response = admin_api.patch(
        f"/departments/{dept['id']}",
        {"version": got["version"], "name": "西南区", "manager_id": org.director.pk},
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "西南区"
    assert response.json()["manager"] == org.director.display_name
    stale = admin_api.patch(f"/departments/{dept['id']}", {"version": got["version"], "sort": 9})
    assert assert_error(stale, 409)["current"]["name"] == "西南区"
    assert admin_api.delete(f"/departments/{dept['id']}").status_code == 204
    assert_error(admin_api.get(f"/departments/{dept['id']}"), 404)
    assert_error(admin_api.delete(f"/departments/{dept['id']}"), 404)


def test_department_rules_are_field_errors(org, admin_api):
    assert_error(admin_api.delete(f"/departments/{org.east.pk}"), 422, "members")
    assert_error(admin_api.delete(f"/departments/{org.sales.pk}"), 422, "parent")
    response = admin_api.patch(
        f"/departments/{org.sales.pk}", {"version": org.sales.version, "parent_id": org.east.pk}
    )
    assert_error(response, 422, "parent")
    response = admin_api.post("/departments", {"name": "华东销售部", "parent_id": org.sales.pk})
    assert_error(response, 422, "name")
    assert_error(admin_api.post("/departments", {"name": "  "}), 422, "name")
    assert_error(admin_api.post("/departments", {"name": "x", "sort": 2**31}), 422, "sort")
    assert_error(
        admin_api.post("/departments", {"name": "x", "parent_id": 999999999}), 422, "parent_id"
    )
    response = admin_api.patch(
        f"/departments/{org.east.pk}", {"version": org.east.version, "name": None}
    )
    assert_error(response, 422, "name")


def test_non_admin_cannot_write_departments(org, rep_api):
    before = Department.objects.count()
    assert_error(rep_api.post("/departments", {"name": "自建部门"}), 403)
    assert Department.objects.count() == before
    east = org.east
    assert_error(
        rep_api.patch(f"/departments/{east.pk}", {"version": east.version, "sort": 3}), 403
    )
    assert_error(rep_api.delete(f"/departments/{org.north.pk}"), 403)
    assert Department.objects.filter(pk=org.north.pk).exists()
    assert_error(rep_api.get("/departments/999999999"), 404)
    assert_error(rep_api.delete("/departments/999999999"), 404)


# ---------------------------------------------------------------- roles, grants, field rules


def test_roles_read_and_write(org, admin_api, rep_api):
    roles = walk_pages(rep_api, "/roles", {"limit": 2})
    codes = [r["code"] for r in roles]
    assert set(codes) == set(Role.objects.values_list("code", flat=True))
    rep = next(r for r in roles if r["code"] == "sales_rep")
    assert rep["user_count"] == 2

    response = admin_api.post("/roles", {"code": "auditor", "name": "审计员"})
    assert response.status_code == 201, response.content
    role = response.json()
    assert role["is_admin"] is False
    response = admin_api.patch(
        f"/roles/{role['id']}", {"version": role["version"], "description": "只读审计"}
    )
    assert response.status_code == 200 and response.json()["description"] == "只读审计"
    stale = admin_api.patch(f"/roles/{role['id']}", {"version": role["version"], "name": "x"})
    assert_error(stale, 409)
    assert_error(admin_api.post("/roles", {"code": "auditor", "name": "重复"}), 422, "code")
    assert_error(admin_api.post("/roles", {"code": "Not A Slug", "name": "x"}), 422, "code")
    assert_error(admin_api.post("/roles", {"code": "x" * 51, "name": "x"}), 422, "code")
    assert_error(admin_api.delete(f"/roles/{org.roles['sales_rep'].pk}"), 422, "users")
    assert admin_api.delete(f"/roles/{role['id']}").status_code == 204
    assert_error(admin_api.get(f"/roles/{role['id']}"), 404)


def test_non_admin_cannot_write_roles(org, rep_api):
    rep_role = org.roles["sales_rep"]
    assert_error(rep_api.post("/roles", {"code": "mine", "name": "我的"}), 403)
    assert_error(rep_api.patch(f"/roles/{rep_role.pk}", {"version": 1, "is_admin": True}), 403)
    assert_error(rep_api.delete(f"/roles/{rep_role.pk}"), 403)
    grant = {"entity": "user", "actions": ["view", "edit"], "scope": "all", "edit_scope": "all"}
    assert_error(rep_api.put(f"/roles/{rep_role.pk}/grants", grant), 403)
    rule = {"entity": "user", "field": "mobile", "access": "hidden"}
    assert_error(rep_api.put(f"/roles/{rep_role.pk}/field-rules", rule), 403)
    rep_role.refresh_from_db()
    assert not rep_role.is_admin
    assert rep_role.grants.get(entity="user").actions == ["view"]
    assert not FieldRule.objects.filter(role=rep_role).exists()


def test_role_grants(org, admin_api, rep_api):
    role = org.roles["marketing"]
    listed = walk_pages(rep_api, f"/roles/{role.pk}/grants", {"limit": 1})
    assert {g["entity"] for g in listed} >= {"user", "department", "role"}
    body = {"entity": "note", "actions": ["edit", "view"], "scope": "department"}
    response = admin_api.put(f"/roles/{role.pk}/grants", body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "entity": "note",
        "actions": ["view", "edit"],
        "scope": "department",
        "edit_scope": "own",
    }
    note = next(
        g for g in walk_pages(admin_api, f"/roles/{role.pk}/grants") if g["entity"] == "note"
    )
    assert note["actions"] == ["view", "edit"]
    # An empty action list removes the grant.
    response = admin_api.put(f"/roles/{role.pk}/grants", {"entity": "note", "actions": []})
    assert response.json()["actions"] == []
    assert "note" not in {g["entity"] for g in walk_pages(admin_api, f"/roles/{role.pk}/grants")}
    assert AuditEntry.objects.filter(action="permission", entity="role").exists()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"entity": "nothing", "actions": ["view"]}, "entity"),
        ({"entity": "user", "actions": ["fly"]}, "actions"),
        ({"entity": "user", "actions": ["view"], "scope": "galaxy"}, "scope"),
        ({"entity": "user", "actions": ["view"], "edit_scope": "galaxy"}, "edit_scope"),
        (
            {"entity": "user", "actions": ["view"], "scope": "own", "edit_scope": "all"},
            "edit_scope",
        ),
        ({"entity": "user"}, "actions"),
        ({"entity": "user", "actions": "view"}, "actions"),
    ],
)
def test_role_grant_validation(org, admin_api, body, field):
    role = org.roles["marketing"]
    assert_error(admin_api.put(f"/roles/{role.pk}/grants", body), 422, field)
    assert role.grants.get(entity="user").actions == ["view"]


def test_role_field_rules(org, admin_api, rep_api):
    role = org.roles["finance"]
    path = f"/roles/{role.pk}/field-rules"
    baseline = walk_pages(rep_api, path)  # domain apps may ship default rules
    assert not [r for r in baseline if r["entity"] == "user"]
    rule = {"entity": "user", "field": "mobile", "access": "masked"}
    response = admin_api.put(path, rule)
    assert response.status_code == 200 and response.json() == rule
    after = walk_pages(rep_api, path, {"limit": 1})
    assert [r for r in after if r not in baseline] == [rule]
    # The rule is in force at once.
    User.objects.filter(pk=org.admin.pk).update(mobile="13700001234")
    seen = api_client(org.liu_yang).get(f"/users/{org.admin.pk}").json()
    assert seen["mobile"] == "137****1234"
    # "editable" (the default) removes the rule.
    admin_api.put(path, {**rule, "access": "editable"})
    assert walk_pages(rep_api, path) == baseline
    assert_error(admin_api.put(path, {**rule, "field": "salary"}), 422, "field")
    assert_error(admin_api.put(path, {**rule, "access": "secret"}), 422, "access")
    assert_error(admin_api.put(path, {**rule, "entity": "ghost"}), 422, "entity")


def test_role_subresources_of_unknown_role_are_404(org, admin_api):
    assert_error(admin_api.get("/roles/999999999/grants"), 404)
    assert_error(admin_api.get("/roles/999999999/field-rules"), 404)
    grant = {"entity": "user", "actions": ["view"]}
    assert_error(admin_api.put("/roles/999999999/grants", grant), 404)
    rule = {"entity": "user", "field": "mobile", "access": "hidden"}
    assert_error(admin_api.put("/roles/999999999/field-rules", rule), 404)


def test_without_view_right_everything_is_404(org):
    """A role without the view grant sees no user, department or role: 404, not 403."""
    from crm.access.services import role_grant_set

    role = org.roles["service"]
    for entity in ("user", "department", "role"):
        role_grant_set(actor=org.admin, role=role, entity=entity, actions=[])
    client = api_client(org.chen_jing)
    assert client.get("/users").json()["items"] == []
    assert_error(client.get(f"/users/{org.admin.pk}"), 404)
    assert_error(client.get(f"/departments/{org.east.pk}"), 404)
    assert_error(client.get(f"/roles/{role.pk}/grants"), 404)
    assert_error(client.patch(f"/users/{org.admin.pk}", {"version": 1}), 404)


# ---------------------------------------------------------------- the registry


def test_entity_registry(org, rep_api):
    pages = walk_pages(rep_api, "/entities", {"limit": 1})
    entities = {e["key"]: e for e in pages}
    assert len(pages) == len(entities)
    assert {"user", "department", "role", "note"} <= set(entities)
    user = entities["user"]
    assert user["label"] == "用户"
    assert "administer" in user["actions"] and user["scoped"] is False
    kinds = {f["name"]: f["kind"] for f in user["fields"]}
    assert kinds["mobile"] == "phone" and kinds["email"] == "email"
    assert entities["note"]["scoped"] is True and entities["note"]["soft_delete"] is True
    assert_error(rep_api.get("/entities", {"cursor": _cursor([1])}), 422, "cursor")


# ---------------------------------------------------------------- rate limits


def test_rate_limit_gives_429_json(org, rep_api, monkeypatch):
    from ninja.throttling import UserRateThrottle

    from crm.api import api

    throttle = next(t for t in api.throttle if isinstance(t, UserRateThrottle))
    monkeypatch.setattr(throttle, "num_requests", 3)
    cache.clear()
    try:
        statuses = [rep_api.get("/me").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        response = rep_api.get("/me")
        assert_error(response, 429)
        assert int(response["Retry-After"]) >= 1
        # Limits are per user: another user is unaffected.
        assert api_client(org.li_na).get("/me").status_code == 200
    finally:
        cache.clear()


# ---------------------------------------------------------------- hostile strings


def _naughty_strings() -> list[str]:
    blns = json.loads((TESTDATA / "blns.json").read_text(encoding="utf-8"))
    picked = random.Random(2026).sample([s for s in blns if s], 42)
    lines: list[str] = []
    for name in (
        "seclists__quick-SQLi.txt",
        "seclists__SQLi-Polyglots.txt",
        "seclists__XSS-Polyglot-Ultimate-0xsobky.txt",
    ):
        text = (TESTDATA / name).read_text(encoding="utf-8", errors="replace")
        lines.extend(line for line in text.splitlines() if line.strip())
    sqli = random.Random(7).sample(lines, 16)
    extra = [
        "a\x00b",
        "\ud800",
        "\u202e\u202d",
        "x" * 101,
        "🎉" * 30,
        "  ",
        "'; DROP TABLE access_user; --",
    ]
    return picked + sqli + extra


NAUGHTY = _naughty_strings()


def _snapshot() -> tuple[int, int, int]:
    return User.objects.count(), Department.objects.count(), AuditEntry.objects.count()


@pytest.mark.parametrize("text", NAUGHTY, ids=[f"s{i}" for i in range(len(NAUGHTY))])
def test_naughty_strings_on_create(org, admin_api, text):
    # As a username (mostly refused by the username rules).
    before = _snapshot()
    response = admin_api.post("/users", {"username": text})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert _snapshot() == before
    else:
        assert response.status_code == 201
        assert response.json()["username"] == text.strip()

    # As a display name, where anything printable goes and must round-trip.
    before = _snapshot()
    response = admin_api.post("/users", {"username": "naughty.user", "display_name": text})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert _snapshot() == before
    else:
        created = admin_api.get(f"/users/{response.json()['id']}").json()
        assert created["display_name"] == text.strip()

    # As a department name.
    before = _snapshot()
    response = admin_api.post("/departments", {"name": text, "parent_id": org.company.pk})
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert _snapshot() == before
    else:
        created = admin_api.get(f"/departments/{response.json()['id']}").json()
        assert created["name"] == text.strip()

    # As a search and filter value (if a URL can carry it at all).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    response = admin_api.get("/users", {"q": text})
    assert response.status_code in (200, 422)
    response = admin_api.get("/audit", {"actor": text, "entity": text, "object_id": text[:64]})
    assert response.status_code in (200, 422)


# ---------------------------------------------------------------- the schema


def test_openapi_lists_the_contract_and_docs_need_no_cdn(db):
    from django.test import Client

    client = Client()
    schema = client.get("/api/v1/openapi.json").json()
    expected = {
        "/api/v1/auth/token": {"post"},
        "/api/v1/me": {"get"},
        "/api/v1/tokens": {"get", "post"},
        "/api/v1/tokens/{token_id}": {"delete"},
        "/api/v1/users": {"get", "post"},
        "/api/v1/users/{user_id}": {"get", "patch"},
        "/api/v1/departments": {"get", "post"},
        "/api/v1/departments/{department_id}": {"get", "patch", "delete"},
        "/api/v1/roles": {"get", "post"},
        "/api/v1/roles/{role_id}": {"get", "patch", "delete"},
        "/api/v1/roles/{role_id}/grants": {"get", "put"},
        "/api/v1/roles/{role_id}/field-rules": {"get", "put"},
        "/api/v1/entities": {"get"},
        "/api/v1/audit": {"get"},
        "/api/v1/audit/verify": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(schema["paths"][path]), path
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn.jsdelivr" not in docs.content
