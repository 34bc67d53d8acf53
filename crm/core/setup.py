"""First-run set-up: the administrator account and the standard roles."""

from __future__ import annotations

from django.db import transaction

from crm.access.defaults import roles_ensure
from crm.access.models import User
from crm.access.services import user_create


@transaction.atomic
def admin_create(*, username: str, password: str, email: str = "") -> User:
    roles = roles_ensure()
    return user_create(
        actor=None,
        username=username,
        password=password,
        email=email,
        display_name=username,
        roles=[roles["admin"]],
    )
