"""Leads (线索), the rules that assign them, the assignment log, public capture forms."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import DomainModel, TimeStampedModel


class LeadStatus(models.TextChoices):
    NEW = "new", _("新线索")
    CONTACTED = "contacted", _("已联系")
    QUALIFIED = "qualified", _("已确认")
    DISQUALIFIED = "disqualified", _("无效")
    CONVERTED = "converted", _("已转化")


class Lead(DomainModel):
    name = models.CharField(_("姓名"), max_length=100)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    company = models.CharField(_("公司"), max_length=200, blank=True)
    title = models.CharField(_("职务"), max_length=100, blank=True)
    mobile = models.CharField(_("手机"), max_length=32, blank=True, db_index=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    email = models.CharField(_("邮箱"), max_length=254, blank=True, db_index=True)
    wechat = models.CharField(_("微信"), max_length=100, blank=True)
    source = models.CharField(_("线索来源"), max_length=50, blank=True)
    province = models.CharField(_("省份"), max_length=20, blank=True)
    city = models.CharField(_("城市"), max_length=30, blank=True)
    industry = models.CharField(_("行业"), max_length=100, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    disqualify_reason = models.CharField(_("无效原因"), max_length=200, blank=True)
    # None: in the leads pool (no rule matched and no fallback user).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        verbose_name=_("负责人"),
    )
    assigned_at = models.DateTimeField(_("分配时间"), null=True, blank=True)
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)
    converted_at = models.DateTimeField(_("转化时间"), null=True, blank=True)
    converted_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_leads",
        verbose_name=_("转化的客户"),
    )
    converted_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
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
        verbose_name = _("线索")
        verbose_name_plural = _("线索")
        indexes = [
            models.Index(fields=["owner", "status", "id"], name="lead_owner_status"),
            models.Index(fields=["status", "id"], name="lead_status_id"),
            models.Index(fields=["province", "id"], name="lead_province_id"),
            models.Index(
                fields=["deleted_at"],
                name="lead_deleted",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.company}）" if self.company else self.name

    @property
    def is_open(self) -> bool:
        return self.status in (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


class RuleMatch(models.TextChoices):
    REGION = "region", _("按地区")
    INDUSTRY = "industry", _("按行业")
    SOURCE = "source", _("按来源")
    ANY = "any", _("所有线索")


class RuleStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("团队内轮流分配")
    LEAST_LOADED = "least_loaded", _("分给未处理线索最少的人")
    USER = "user", _("指定负责人")


class AssignmentRule(TimeStampedModel):
    """Evaluated in `order`; the first rule whose match fits assigns the lead."""

    name = models.CharField(_("规则名称"), max_length=100)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    match = models.CharField(_("匹配条件"), max_length=20, choices=RuleMatch.choices)
    # Provinces, industries or sources the rule matches (empty for "any").
    values = models.JSONField(_("匹配值"), default=list, blank=True)
    strategy = models.CharField(_("分配方式"), max_length=20, choices=RuleStrategy.choices)
    # The team for round-robin / least-loaded (its active members, sub-departments included).
    department = models.ForeignKey(
        "access.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("团队"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("指定负责人"),
    )
    # Round-robin position: the id of the member who got the last lead.
    last_user_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("线索分配规则")

    def __str__(self) -> str:
        return self.name


class LeadAssignment(models.Model):
    """The log: every assignment with the rule that made it (None: fallback / by hand)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.lead_id}→{self.user_id}"


class CaptureForm(TimeStampedModel):
    """A public, embeddable web form that creates leads (honeypot + rate limit)."""

    name = models.CharField(_("表单名称"), max_length=100)
    key = models.CharField(max_length=40, unique=True, editable=False)
    source = models.CharField(_("线索来源"), max_length=50, default="官网表单")
    is_active = models.BooleanField(_("启用"), default=True)
    thank_you = models.CharField(_("提交后提示"), max_length=200, blank=True)
    # Which optional fields the form shows (name and one channel are always asked).
    fields = models.JSONField(_("表单字段"), default=list, blank=True)
    # Sites allowed to embed the form in an <iframe> (CSP frame-ancestors), one per line;
    # empty: any site.
    embed_origins = models.TextField(_("允许嵌入的网站"), blank=True)
    submissions = models.PositiveIntegerField(_("提交次数"), default=0, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("线索表单")

    def __str__(self) -> str:
        return self.name


class LeadEventKind(models.TextChoices):
    CREATED = "created", _("创建")
    UPDATED = "updated", _("修改")
    STATUS = "status", _("状态变更")
    ASSIGNED = "assigned", _("分配")
    NOTE = "note", _("备注")
    CONVERTED = "converted", _("转化")


class LeadEvent(models.Model):
    """The lead's own history (status changes, notes, edits); assignments are in
    LeadAssignment. On conversion both are copied to the customer's timeline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=LeadEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "at"], name="leadevent_lead_at")]

    def __str__(self) -> str:
        return f"{self.lead_id}:{self.kind}"
