"""Django test clients that talk to /api/v1/ with a Bearer token, for the API tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

API = "/api/v1"


class ApiClient:
    """A thin JSON client: `c.get("/users")`, `c.post("/users", {...})` → (status, body)."""

    def __init__(self, token: str | None = None) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.client = Client(headers=headers)

    def _send(self, method: str, path: str, data: Any = None, **params: Any) -> Any:
        url = path if path.startswith(API) else API + path
        call = getattr(self.client, method)
        if method == "get":
            response = call(url, data or params or None)
        elif data is None:
            response = call(url)
        else:
            body = data if isinstance(data, (str, bytes)) else json.dumps(data)
            response = call(url, body, content_type="application/json")
        return response

    def get(self, path: str, params: dict | None = None) -> Any:
        return self._send("get", path, params)

    def post(self, path: str, data: Any = None) -> Any:
        return self._send("post", path, data)

    def patch(self, path: str, data: Any = None) -> Any:
        return self._send("patch", path, data)

    def put(self, path: str, data: Any = None) -> Any:
        return self._send("put", path, data)

    def delete(self, path: str) -> Any:
        return self._send("delete", path)


def api_client(user: Any) -> ApiClient:
    """A client authenticated as `user` through a personal token."""
    from crm.access.services import token_create

    _token, value = token_create(actor=user, name="tests")
    return ApiClient(value)


def assert_error(response: Any, status: int, field: str | None = None) -> dict:
    """The API's error shape: {"detail": str, "errors": [{"field", "message"}]} and `status`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for err in body["errors"]:
        assert set(err) >= {"field", "message"}
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def walk_pages(client: ApiClient, path: str, params: dict | None = None) -> list[dict]:
    """Follow `next` cursors to the end; returns every item of every page."""
    items: list[dict] = []
    query = dict(params or {})
    for _ in range(1000):
        response = client.get(path, query)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        assert set(body) == {"items", "next"}
        items.extend(body["items"])
        if body["next"] is None:
            return items
        query["cursor"] = body["next"]
    raise AssertionError("pagination does not end")
