"""Customers (companies), contacts, tags, custom field definitions, collaboration, handover."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import DomainModel, TimeStampedModel


class CustomerStatus(models.TextChoices):
    NEW = "new", _("新客户")
    FOLLOWING = "following", _("跟进中")
    WON = "won", _("已成交")
    DORMANT = "dormant", _("沉睡")
    LOST = "lost", _("流失")


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("决策人")
    TECHNICAL = "technical", _("技术")
    PROCUREMENT = "procurement", _("采购")
    USER = "user", _("使用者")
    OTHER = "other", _("其他")


class Tag(TimeStampedModel):
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级标签"),
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")
    full_name = models.CharField(_("完整名称"), max_length=500, editable=False, default="")
    color = models.CharField(_("颜色"), max_length=20, default="blue")

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("标签")
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.full_name or self.name


# Soft-deleted rows are few: index them only (partial index). A plain index on deleted_at lets
# SQLite serve "deleted_at IS NULL" — every live row — from it, in id order, and it then
# prefers walking the whole table to a selective index (seconds at a million rows; see
# docs/benchmarks.md). The recycle bin's "deleted_at IS NOT NULL" still has its index.
def _deleted_at() -> models.DateTimeField:
    return models.DateTimeField(_("删除时间"), null=True, blank=True)


class Customer(DomainModel):
    name = models.CharField(_("客户名称"), max_length=200)
    deleted_at = _deleted_at()
    # Normalised name for the duplicate check (full-width, spaces, brackets, suffixes removed).
    name_key = models.CharField(max_length=200, db_index=True, editable=False, default="")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    industry = models.CharField(_("行业"), max_length=100, blank=True)
    level = models.CharField(_("客户级别"), max_length=20, blank=True)
    source = models.CharField(_("客户来源"), max_length=50, blank=True)
    province = models.CharField(_("省份"), max_length=20, blank=True)
    city = models.CharField(_("城市"), max_length=30, blank=True)
    address = models.CharField(_("详细地址"), max_length=300, blank=True)
    website = models.CharField(_("网址"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
        verbose_name=_("负责人"),
    )
    owned_since = models.DateTimeField(_("领取/分配时间"), null=True, blank=True)
    pool_entered_at = models.DateTimeField(_("进入公海时间"), null=True, blank=True)
    pool_reason = models.CharField(_("退回公海原因"), max_length=200, blank=True)
    status = models.CharField(
        _("客户状态"), max_length=20, choices=CustomerStatus.choices, default=CustomerStatus.NEW
    )
    tags = models.ManyToManyField(
        Tag, through="CustomerTag", related_name="customers", blank=True, verbose_name=_("标签")
    )
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)
    next_follow_up_at = models.DateTimeField(_("下次跟进"), null=True, blank=True)
    last_follow_up_at = models.DateTimeField(_("最近跟进"), null=True, blank=True)
    last_won_at = models.DateTimeField(_("最近成交"), null=True, blank=True)
    completeness = models.PositiveSmallIntegerField(_("信息完整率"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("创建人"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        indexes = [
            # deleted_at in the middle: "owner … AND deleted_at IS NULL ORDER BY id" and the
            # pool count (owner IS NULL) are answered from the index alone.
            models.Index(fields=["owner", "deleted_at", "id"], name="customer_owner_alive"),
            models.Index(fields=["level", "id"], name="customer_level_id"),
            models.Index(fields=["province", "city", "id"], name="customer_region_id"),
            models.Index(fields=["status", "id"], name="customer_status_id"),
            models.Index(fields=["completeness", "id"], name="customer_complete_id"),
            models.Index(fields=["next_follow_up_at", "id"], name="customer_next_fu"),
            models.Index(fields=["last_follow_up_at", "id"], name="customer_last_fu"),
            models.Index(fields=["updated_at", "id"], name="customer_updated_id"),
            models.Index(fields=["name", "id"], name="customer_name_id"),
            models.Index(
                fields=["deleted_at"],
                name="customer_deleted",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None


class CustomerTag(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="customertag_unique")
        ]
        indexes = [models.Index(fields=["tag", "customer"], name="customertag_tag")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class Contact(DomainModel):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("客户")
    )
    name = models.CharField(_("姓名"), max_length=100)
    deleted_at = _deleted_at()
    title = models.CharField(_("职务"), max_length=100, blank=True)
    # Phones are stored normalised (E.164) next to what the user typed.
    mobile = models.CharField(_("手机"), max_length=32, blank=True, db_index=True)
    mobile_raw = models.CharField(_("手机（原文）"), max_length=100, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True, db_index=True)
    phone_raw = models.CharField(_("电话（原文）"), max_length=100, blank=True)
    email = models.CharField(_("邮箱"), max_length=254, blank=True, db_index=True)
    wechat = models.CharField(_("微信"), max_length=100, blank=True)
    birthday = models.DateField(_("生日"), null=True, blank=True)
    role = models.CharField(
        _("角色"), max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER
    )
    is_primary = models.BooleanField(_("主要联系人"), default=False)
    notes = models.TextField(_("备注"), blank=True)
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        indexes = [
            models.Index(fields=["customer", "id"], name="contact_customer_id"),
            models.Index(
                fields=["deleted_at"],
                name="contact_deleted",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerCollaborator(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="collaborator_unique")
        ]
        indexes = [models.Index(fields=["user", "customer"], name="collaborator_user")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.customer_id}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("待处理")
    APPROVED = "approved", _("已同意")
    REJECTED = "rejected", _("已拒绝")


class CollaborationRequest(models.Model):
    """Registration found an existing customer: the rep asks to join instead of duplicating."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="collaboration_requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("说明"), max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("协作申请")

    def __str__(self) -> str:
        return f"{self.requester_id}→{self.customer_id} {self.status}"


class SavedView(models.Model):
    """A user's saved list filters (query string), per entity list."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    entity = models.CharField(max_length=50)
    name = models.CharField(_("名称"), max_length=100)
    params = models.CharField(max_length=2000, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "entity", "name"], name="savedview_unique")
        ]

    def __str__(self) -> str:
        return self.name


class HandoverBatch(models.Model):
    """One handover (离职交接): what moved from whom to whom; undone as a whole."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    summary = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("离职交接")

    def __str__(self) -> str:
        return f"handover #{self.pk} from {self.from_user_id}"


class HandoverItem(models.Model):
    batch = models.ForeignKey(HandoverBatch, on_delete=models.CASCADE, related_name="items")
    entity = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    old_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["batch", "entity"], name="handoveritem_batch")]

    def __str__(self) -> str:
        return f"{self.entity}:{self.object_id}"
