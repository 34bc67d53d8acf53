"""Base models: timestamps, optimistic version, soft delete (recycle bin)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(models.Model):
    """A record edited by people: every successful update increments `version`.

    Services compare the version the editor started from with the stored one
    (crm.core.versioning.save_with_version) and refuse a stale edit.
    """

    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        abstract = True


class AliveQuerySet(models.QuerySet):
    def alive(self) -> AliveQuerySet:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> AliveQuerySet:
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager.from_queryset(AliveQuerySet)):  # type: ignore[misc]
    """Default manager: records in the recycle bin are invisible unless asked for."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """Domain records are never hard-deleted by the system; delete moves to the recycle bin."""

    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("删除人"),
    )

    objects = AliveManager()
    all_objects = models.Manager.from_queryset(AliveQuerySet)()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class DomainModel(TimeStampedModel, VersionedModel, SoftDeleteModel):
    """The usual base of a domain record: timestamps, version, recycle bin."""

    class Meta:
        abstract = True


class SystemSetting(models.Model):
    """Administrator configuration as key → JSON value (levels, pool rules, completeness...).

    Read through crm.core.config.setting_get; written only by setting_set, which audits.
    """

    key = models.CharField(_("键"), max_length=100, unique=True)
    value = models.JSONField(_("值"), default=dict)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        verbose_name = _("系统设置")

    def __str__(self) -> str:
        return self.key
