"""Login success/failure and logout go into the audit trail (with the client IP)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from crm.audit.context import client_ip
from crm.audit.services import audit_record


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(
        action="login",
        actor=user,
        entity="user",
        object_id=user.pk,
        object_repr=str(user),
        ip=client_ip(request) if request is not None else "",
    )


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit_record(
        action="logout",
        actor=user,
        entity="user",
        object_id=user.pk,
        object_repr=str(user),
        ip=client_ip(request) if request is not None else "",
    )


@receiver(user_login_failed)
def _on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action="login_failed",
        entity="user",
        object_repr=username,
        actor_name=username,
        changes={"username": username},
        ip=client_ip(request) if request is not None else "",
    )
