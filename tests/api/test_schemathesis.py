"""Schemathesis against /api/v1/openapi.json: no input may cause a server error.

Every operation of the schema runs with an administrator's Bearer token (so writes reach the
services, not only the permission check), on a database-backed organisation, with a fixed
seed and a small number of examples per operation to stay fast and deterministic.
Only `not_a_server_error` is checked: the error shape has its own tests.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from config.wsgi import application

CONFIG = schemathesis.Config.from_str(
    """
seed = 2026
suppress-health-check = ["all"]

[generation]
mode = "all"
max-examples = 15
deterministic = true
database = "none"

[phases.examples]
enabled = true

[phases.coverage]
enabled = false

[phases.fuzzing]
enabled = true

[phases.stateful]
enabled = false
"""
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)

# Small generated ids are mapped onto existing records, and small versions onto the current
# one, so PATCH and DELETE with random bodies reach the services instead of stopping at 404/409.
ID_PARAMETERS = ("user_id", "department_id", "role_id", "token_id")


def _current_version(name: str, pk: int) -> int | None:
    from crm.access.models import Department, Role, User

    model = {"user_id": User, "department_id": Department, "role_id": Role}.get(name)
    if model is None:
        return None
    return model.objects.filter(pk=pk).values_list("version", flat=True).first()


@pytest.fixture
def keep_db_connection():
    """Requests go through the real WSGI handler, which closes the database connection when a
    request ends; inside a test transaction that would drop the test's data (PostgreSQL).
    Django's test Client detaches the same receiver for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(db, keep_db_connection) -> dict[str, Any]:
    """A demo-like organisation, an admin token, and the ids path parameters may point at."""
    from crm.access.models import ApiToken, Department, Role, User
    from crm.access.services import token_create
    from crm.access.tests.factories import build_org

    org = build_org()
    _token, admin_token = token_create(actor=org.admin, name="schemathesis")
    token_create(actor=org.admin, name="to be revoked 1")
    token_create(actor=org.admin, name="to be revoked 2")
    ids = {
        "user_id": list(User.objects.order_by("pk").values_list("pk", flat=True)),
        "department_id": list(Department.objects.order_by("pk").values_list("pk", flat=True)),
        "role_id": list(Role.objects.order_by("pk").values_list("pk", flat=True)),
        # Never the token the test itself uses.
        "token_id": list(
            ApiToken.objects.exclude(pk=_token.pk).order_by("pk").values_list("pk", flat=True)
        ),
    }
    return {"token": admin_token, "ids": ids}


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case: Any, api_world: dict[str, Any]) -> None:
    for name in ID_PARAMETERS:
        value = (case.path_parameters or {}).get(name)
        known = api_world["ids"][name]
        if isinstance(value, int) and 0 <= value < 1000 and known:
            case.path_parameters[name] = known[value % len(known)]
            body = case.body
            if (
                case.method == "PATCH"
                and isinstance(body, dict)
                and isinstance(body.get("version"), int)
                and 0 <= body["version"] < 1000
            ):
                body["version"] = _current_version(name, case.path_parameters[name])
    response = case.call(headers={"Authorization": f"Bearer {api_world['token']}"})
    case.validate_response(response, checks=[not_a_server_error])
