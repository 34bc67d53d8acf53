"""Pipelines with ordered stages, opportunities (商机) on them, and their stage history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import DomainModel, TimeStampedModel


class Pipeline(TimeStampedModel):
    """A sales process (新客户, 续约 …): an ordered list of stages."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    is_default = models.BooleanField(_("默认"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("销售流程")

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("进行中")
    WON = "won", _("赢单")
    LOST = "lost", _("输单")


class Stage(TimeStampedModel):
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("销售流程")
    )
    name = models.CharField(_("名称"), max_length=50)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    kind = models.CharField(
        _("类型"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN
    )
    probability = models.PositiveSmallIntegerField(_("赢率（%）"), default=10)
    # Longer than this in the stage: the stall reminder (owner, then manager). None: no limit.
    time_limit_days = models.PositiveSmallIntegerField(_("停留时限（天）"), null=True, blank=True)
    # Field names of Opportunity (or "custom.<key>") that must be filled to ENTER this stage.
    required_fields = models.JSONField(_("必填字段"), default=list, blank=True)
    # Items that must all be ticked before LEAVING this stage forward.
    checklist = models.JSONField(_("检查清单"), default=list, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["pipeline", "order", "id"]
        verbose_name = _("阶段")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("管道")
    BEST = "best", _("乐观")
    COMMIT = "commit", _("承诺")
    OMITTED = "omitted", _("不计入")


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    WON = "won", _("赢单")
    LOST = "lost", _("输单")


class Opportunity(DomainModel):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="opportunities",
        verbose_name=_("客户"),
    )
    name = models.CharField(_("商机名称"), max_length=200)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    expected_close_date = models.DateField(_("预计成交日期"), null=True, blank=True)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("销售流程")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("阶段")
    )
    stage_entered_at = models.DateTimeField(_("进入阶段时间"), default=timezone.now)
    probability = models.PositiveSmallIntegerField(_("赢率（%）"), default=0)
    # True once someone set the probability by hand: a stage move then keeps it.
    probability_manual = models.BooleanField(default=False)
    forecast_category = models.CharField(
        _("预测类别"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    competitors = models.CharField(_("竞争对手"), max_length=300, blank=True)
    source = models.CharField(_("来源"), max_length=50, blank=True)
    source_lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("来源线索"),
    )
    lost_reason = models.CharField(_("输单原因"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    # {"<stage id>": [index of each ticked checklist item]}
    checklist_done = models.JSONField(_("已完成检查项"), default=dict, blank=True)
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_opportunities",
        verbose_name=_("负责人"),
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
        verbose_name = _("商机")
        verbose_name_plural = _("商机")
        indexes = [
            models.Index(fields=["owner", "status", "id"], name="opp_owner_status"),
            models.Index(fields=["pipeline", "status", "stage"], name="opp_pipeline_stage"),
            models.Index(fields=["customer", "id"], name="opp_customer"),
            # Covering index of the forecast: the month range, then everything it sums.
            models.Index(
                fields=[
                    "status",
                    "expected_close_date",
                    "owner",
                    "forecast_category",
                    "amount",
                    "probability",
                ],
                name="opp_forecast",
            ),
            models.Index(fields=["stage", "stage_entered_at"], name="opp_stage_entered"),
            models.Index(
                fields=["deleted_at"],
                name="opp_deleted",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class OpportunityContact(models.Model):
    """A contact of the customer involved in the deal, with their role in it."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="contact_roles"
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="opportunity_roles"
    )
    role = models.CharField(_("角色"), max_length=50, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "contact"], name="oppcontact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}:{self.contact_id}"


class StageHistory(models.Model):
    """Every stage change: who, when, from, to, and how long the opportunity sat in `from`."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_history"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    seconds_in_from = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"], name="stagehist_opp_at")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id}→{self.to_stage_id}"
