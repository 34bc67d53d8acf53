"""Domain errors raised by services and selectors; the UI and the API translate them alike."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base class: a rule refused the operation. Never a server error."""

    status = 400
    default_message = _("操作无法完成")

    def __init__(self, message: object = None, *, field: str | None = None, errors=None):
        self.message = str(message if message is not None else self.default_message)
        self.field = field
        # errors: list of {"field": ..., "message": ...}
        self.errors: list[dict[str, str]] = list(errors or [])
        if field and not self.errors:
            self.errors = [{"field": field, "message": self.message}]
        super().__init__(self.message)


class NotFound(DomainError):
    """Missing or outside the actor's scope: the two must look the same."""

    status = 404
    default_message = _("记录不存在或您无权查看")


class PermissionDenied(DomainError):
    """The actor can see the record but may not do this to it."""

    status = 403
    default_message = _("您没有执行此操作的权限")


class ValidationFailed(DomainError):
    status = 422
    default_message = _("输入有误，请检查标出的字段")


class StaleVersion(DomainError):
    """Optimistic concurrency: the record changed since the actor loaded it."""

    status = 409
    default_message = _("该记录已被他人修改，请刷新后再编辑（您的输入未保存，已保留在表单中）")

    def __init__(self, message: object = None, *, current: dict | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.current = current or {}


class Conflict(DomainError):
    status = 409
    default_message = _("与已有记录冲突")

    def __init__(self, message: object = None, *, existing_id: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.existing_id = existing_id
