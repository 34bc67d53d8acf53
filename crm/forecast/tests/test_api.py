"""/api/v1/forecast and /api/v1/forecast/targets: shape, scope, parameters, permissions."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.forecast.models import SalesTarget
from crm.forecast.tests.helpers import opp
from tests.api.clients import api_client, assert_error, walk_pages

CUSTOM = {"period": "custom", "from": "2026-11", "to": "2026-12"}


@pytest.fixture
def deals(org):
    opp(org.zhang_wei, 100_000, close=dt.date(2026, 11, 5), probability=20)
    opp(org.zhang_wei, 300_000, close=dt.date(2026, 12, 5), probability=80, category="commit")
    opp(org.zhang_wei, 70_000, close=dt.date(2026, 11, 2), status="won")
    opp(org.wang_fang, 500_000, close=dt.date(2026, 11, 8), probability=50, category="best")
    SalesTarget.objects.create(user=org.zhang_wei, month=dt.date(2026, 11, 1), amount=100_000)


def test_forecast_shape_and_figures(org, deals):
    body = api_client(org.zhang_wei).get("/forecast", {**CUSTOM, "group": "month"}).json()
    assert body["period"] == {
        "key": "custom",
        "from": "2026-11",
        "to": "2026-12",
        "months": ["2026-11", "2026-12"],
    }
    assert body["group"] == "month" and body["currency"] == "CNY" and body["amounts_visible"]
    nov, dec = body["rows"]
    assert nov["key"] == "month:2026-11" and nov["month"] == "2026-11"
    assert nov["weighted"] == "20000.00"
    assert nov["won"] == "70000.00" and nov["target"] == "100000.00"
    assert nov["attainment"] == "70.0"
    assert dec["commit"] == dec["best"] == dec["pipeline"] == "300000.00"
    assert dec["target"] is None and dec["attainment"] is None
    totals = body["totals"]
    assert totals["weighted"] == "260000.00"
    assert totals["open_count"] == 2 and totals["won_count"] == 1
    assert body["months"] == body["rows"]


def test_forecast_scope(org, deals):
    rep = api_client(org.zhang_wei).get("/forecast", {**CUSTOM, "group": "owner"}).json()
    assert [r["owner_id"] for r in rep["rows"]] == [org.zhang_wei.pk]
    south = api_client(org.huang_qiang).get("/forecast", {**CUSTOM, "group": "owner"}).json()
    assert [r["owner_id"] for r in south["rows"]] == [org.wang_fang.pk]
    assert south["totals"]["best"] == "500000.00"
    # 华南's manager filtering on 华东 people: nothing, never their figures.
    other = api_client(org.huang_qiang).get("/forecast", {**CUSTOM, "owner": org.zhang_wei.pk})
    assert other.status_code == 200 and other.json()["totals"]["open_count"] == 0
    director = api_client(org.director).get("/forecast", {**CUSTOM, "group": "team"}).json()
    assert {r["team_id"] for r in director["rows"]} == {org.east.pk, org.south.pk}
    me = api_client(org.li_na).get("/forecast", {**CUSTOM, "owner": "me"}).json()
    assert me["totals"]["open_count"] == 0


def test_forecast_parameters(org, deals):
    c = api_client(org.zhang_wei)
    assert c.get("/forecast").status_code == 200  # this quarter by default
    assert_error(c.get("/forecast", {"period": "soon"}), 422, "period")
    assert_error(c.get("/forecast", {"group": "region"}), 422, "group")
    assert_error(c.get("/forecast", {**CUSTOM, "to": "2026-10"}), 422, "to")
    assert_error(c.get("/forecast", {"from": "2026-1"}), 422)
    assert_error(c.get("/forecast", {"from": "2020-01", "to": "2026-01"}), 422, "to")
    assert_error(c.get("/forecast", {"pipeline": 987654}), 422, "pipeline")
    assert_error(c.get("/forecast", {"team": 987654}), 422, "team")
    assert_error(c.get("/forecast", {"owner": "someone"}), 422)
    assert c.get("/forecast", {"from": "2026-11"}).json()["period"]["months"] == ["2026-11"]


def test_forecast_requires_login(org):
    from django.test import Client

    assert Client().get("/api/v1/forecast").status_code == 401


def test_targets_list_and_set(org):
    manager = api_client(org.li_na)
    r = manager.post(
        "/forecast/targets", {"user_id": org.zhang_wei.pk, "month": "2026-11", "amount": "120000"}
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["user_id"] == org.zhang_wei.pk and body["month"] == "2026-11"
    assert body["amount"] == "120000.00"
    r = manager.post(
        "/forecast/targets", {"department_id": org.east.pk, "month": "2026-11", "amount": 400000}
    )
    assert r.status_code == 200
    items = walk_pages(manager, "/forecast/targets", {"year": 2026})
    assert {(i["user_id"], i["department_id"]) for i in items} == {
        (org.zhang_wei.pk, None),
        (None, org.east.pk),
    }
    rep_items = walk_pages(api_client(org.zhang_wei), "/forecast/targets", {"user_id": "me"})
    assert [i["amount"] for i in rep_items] == ["120000.00"]
    assert walk_pages(api_client(org.wang_fang), "/forecast/targets") == []
    # amount null removes it.
    r = manager.post(
        "/forecast/targets", {"user_id": org.zhang_wei.pk, "month": "2026-11", "amount": None}
    )
    assert r.status_code == 204
    assert not SalesTarget.objects.filter(user=org.zhang_wei).exists()


def test_target_permissions(org):
    body = {"user_id": org.zhang_wei.pk, "month": "2026-11", "amount": 1}
    assert_error(api_client(org.zhang_wei).post("/forecast/targets", body), 403)
    assert_error(api_client(org.huang_qiang).post("/forecast/targets", body), 403)
    assert_error(
        api_client(org.huang_qiang).post(
            "/forecast/targets", {"department_id": org.east.pk, "month": "2026-11", "amount": 1}
        ),
        403,
    )
    assert_error(api_client(org.liu_yang).post("/forecast/targets", body), 403)
    assert not SalesTarget.objects.exists()
    # A target 华南 cannot see: 404 on delete; 华东's manager deletes it.
    t = SalesTarget.objects.create(user=org.zhang_wei, month=dt.date(2026, 11, 1), amount=1)
    assert_error(api_client(org.huang_qiang).delete(f"/forecast/targets/{t.pk}"), 404)
    assert_error(api_client(org.zhang_wei).delete(f"/forecast/targets/{t.pk}"), 403)
    assert api_client(org.li_na).delete(f"/forecast/targets/{t.pk}").status_code == 204


def test_target_input_errors(org):
    c = api_client(org.li_na)
    assert_error(c.post("/forecast/targets", {"month": "2026-11", "amount": 1}), 422)
    both = {"user_id": org.zhang_wei.pk, "department_id": org.east.pk, "month": "2026-11"}
    assert_error(c.post("/forecast/targets", {**both, "amount": 1}), 422)
    one = {"user_id": org.zhang_wei.pk}
    assert_error(c.post("/forecast/targets", {**one, "month": "11-2026", "amount": 1}), 422)
    assert_error(c.post("/forecast/targets", {**one, "month": "2026-13", "amount": 1}), 422)
    assert_error(c.post("/forecast/targets", {**one, "month": "2026-11", "amount": -5}), 422)
    assert_error(c.post("/forecast/targets", {**one, "month": "2026-11", "amount": "x"}), 422)
    assert_error(
        c.post("/forecast/targets", {"user_id": 987654, "month": "2026-11", "amount": 1}),
        422,
        "user_id",
    )
    assert_error(c.get("/forecast/targets", {"year": 1800}), 422)
