"""Follow-ups (跟进记录), their attachments, talk-script templates (话术模板) and tasks (待办)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import DomainModel, TimeStampedModel


class FollowUp(DomainModel):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="followups",
        verbose_name=_("客户"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups",
        verbose_name=_("联系人"),
    )
    kind = models.CharField(_("跟进方式"), max_length=30)
    content = models.TextField(_("跟进内容"))
    at = models.DateTimeField(_("跟进时间"), default=timezone.now)
    next_action = models.CharField(_("下一步"), max_length=300, blank=True)
    next_follow_up_at = models.DateTimeField(_("下次跟进时间"), null=True, blank=True)
    location = models.CharField(_("地点"), max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="followups",
        verbose_name=_("跟进人"),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("跟进记录")
        verbose_name_plural = _("跟进记录")
        indexes = [
            models.Index(fields=["customer", "-at"], name="followup_customer_at"),
            models.Index(fields=["author", "-at"], name="followup_author_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"

    def get_kind_display(self) -> str:
        from crm.activities.config import followup_kind_label

        return str(followup_kind_label(self.kind))


class Attachment(models.Model):
    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="followups/%Y/%m/")
    thumbnail = models.FileField(upload_to="followups/thumbs/%Y/%m/", blank=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    is_image = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TalkScript(TimeStampedModel):
    title = models.CharField(_("标题"), max_length=100)
    category = models.CharField(_("分类"), max_length=50, blank=True)
    body = models.TextField(_("内容"))
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["category", "title", "id"]
        verbose_name = _("话术模板")

    def __str__(self) -> str:
        return self.title


class Task(DomainModel):
    title = models.CharField(_("标题"), max_length=200)
    notes = models.TextField(_("备注"), blank=True)
    due_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("负责人"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("相关客户"),
    )
    followup = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    source = models.CharField(_("来源"), max_length=50, blank=True)  # "", "followup", "rule:<key>"
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        verbose_name = _("待办")
        verbose_name_plural = _("待办")
        indexes = [models.Index(fields=["assignee", "done_at", "due_at"], name="task_assignee_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed URL (a capability: anyone with the link can read it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"feed of {self.user_id}"
