"""The customer timeline (客户动态): one chronological stream other apps append to.

Events are written by services (through crm.timeline.services.timeline_append) for every
thing that happens to a customer or its contacts; an app adds its own kinds with
`timeline_kind_register`, so the stream grows without touching this app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimelineEvent(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="timeline_events",
        verbose_name=_("客户"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="timeline_events",
        verbose_name=_("联系人"),
    )
    kind = models.CharField(_("类型"), max_length=40)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )
    summary = models.CharField(_("摘要"), max_length=500, blank=True)
    # Structured detail: {"changes": {field: [old, new]}, ...} rendered by the kind's template.
    data = models.JSONField(_("详情"), default=dict, blank=True)
    # The record the event is about, when it is not the customer itself ("contact:12").
    ref_entity = models.CharField(max_length=50, blank=True)
    ref_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("客户动态")
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="timeline_customer_at"),
            models.Index(fields=["customer", "kind", "-at"], name="timeline_customer_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M}"
