"""In-app notifications, their deliveries to other channels, preferences and group robots."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.crypto import EncryptedTextField


class Channel(models.TextChoices):
    INAPP = "inapp", _("站内")
    EMAIL = "email", _("邮件")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=50)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Deferred by the working calendar or the user's quiet hours: shown from then on.
    deliver_after = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # One notification per condition occurrence: "rule:no_follow_up:12:2027-01-01".
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-deliver_after", "-id"]
        verbose_name = _("通知")
        indexes = [
            models.Index(fields=["user", "read_at", "-deliver_after"], name="notif_user_unread")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe",
            )
        ]

    def __str__(self) -> str:
        return self.title


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("失败（将重试）")
    GAVE_UP = "gave_up", _("失败（已放弃）")


class Delivery(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    target = models.CharField(max_length=300, blank=True)  # email address or robot id
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("通知投递")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.status}"


class Preference(models.Model):
    """Which channels a user wants for one kind of notification (in-app is always on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    kind = models.CharField(max_length=50)
    channels = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="pref_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}"


class QuietHours(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours"
    )
    start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    end = models.TimeField(_("免打扰结束"), null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


class RobotProvider(models.TextChoices):
    WECOM = "wecom", _("企业微信群机器人")
    DINGTALK = "dingtalk", _("钉钉群机器人")


class Robot(models.Model):
    """A group robot webhook for a department (and its sub-departments without their own)."""

    department = models.ForeignKey(
        "access.Department", on_delete=models.CASCADE, related_name="robots", verbose_name=_("部门")
    )
    provider = models.CharField(_("类型"), max_length=20, choices=RobotProvider.choices)
    name = models.CharField(_("名称"), max_length=100)
    url = models.CharField(_("Webhook 地址"), max_length=500)
    secret = EncryptedTextField(_("加签密钥"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["department_id", "id"]
        verbose_name = _("群机器人")

    def __str__(self) -> str:
        return self.name
