"""Append-only, hash-chained audit log.

Each entry's hash covers its own content and the previous entry's hash; the head row keeps
the last sequence number and hash, so a changed, removed or truncated entry breaks the
chain and `crm audit verify` names the first broken sequence number.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("新建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除到回收站")
    RESTORE = "restore", _("从回收站恢复")
    PURGE = "purge", _("彻底删除")
    LOGIN = "login", _("登录成功")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出登录")
    EXPORT = "export", _("导出")
    REVEAL = "reveal", _("查看敏感字段")
    PERMISSION = "permission", _("权限变更")
    CONFIG = "config", _("配置变更")
    TOKEN = "token", _("API 令牌")
    VERIFY = "verify", _("审计链校验")


class AuditEntry(models.Model):
    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # DO_NOTHING: deleting a user must not rewrite hashed entries (actor_name keeps the name).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=20, choices=AuditAction.choices, db_index=True)
    entity = models.CharField(_("对象"), max_length=50, blank=True, db_index=True)
    object_id = models.CharField(_("记录ID"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("记录"), max_length=200, blank=True)
    changes = models.JSONField(_("内容"), default=dict, blank=True)
    ip = models.CharField(_("IP"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [models.Index(fields=["entity", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.entity}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit entries are append-only")


class AuditHead(models.Model):
    """Single row (pk=1): serialises appends and anchors the chain's tail."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")

    def __str__(self) -> str:
        return f"head #{self.last_seq}"
