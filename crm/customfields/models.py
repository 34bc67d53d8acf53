"""Custom fields: defined by an administrator per entity, validated by type, stored in the
record's `custom` JSON. Any entity with a `custom` field can use them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel, VersionedModel


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("单行文本")
    LONGTEXT = "longtext", _("多行文本")
    NUMBER = "number", _("数字")
    MONEY = "money", _("金额")
    DATE = "date", _("日期")
    CHOICE = "choice", _("单选")
    MULTICHOICE = "multichoice", _("多选")
    USER = "user", _("人员")
    BOOLEAN = "boolean", _("是/否")


class CustomFieldDef(TimeStampedModel, VersionedModel):
    """A field an administrator adds to an entity without a deploy."""

    entity = models.CharField(_("对象"), max_length=50)
    key = models.SlugField(_("字段键"), max_length=50)
    label = models.CharField(_("显示名称"), max_length=100)
    type = models.CharField(_("类型"), max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(_("选项"), default=list, blank=True)
    help_text = models.CharField(_("说明"), max_length=200, blank=True)
    # Progressive profiling: required only once the record reaches this status/stage.
    required_from = models.CharField(_("从该状态起必填"), max_length=50, blank=True)
    filterable = models.BooleanField(_("可筛选"), default=True)
    order = models.IntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["entity", "order", "id"]
        verbose_name = _("自定义字段")
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="customfield_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"
