"""Contracts (合同), their attachments, payment plans (回款计划) and payments (回款记录)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.crypto import EncryptedTextField
from crm.core.models import DomainModel

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING_APPROVAL = "pending_approval", _("审批中")
    ACTIVE = "active", _("执行中")
    CLOSED = "closed", _("已结束")
    CANCELLED = "cancelled", _("已作废")


class Contract(DomainModel):
    number = models.CharField(_("合同编号"), max_length=50, unique=True)
    name = models.CharField(_("合同名称"), max_length=200)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("客户"),
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("商机"),
    )
    quote = models.ForeignKey(
        "quotes.Quote",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("报价单"),
    )
    # Sensitive: encrypted at rest; field security decides who sees it. Stored as the decimal
    # string ("1280000.00"); read it with `amount_value`.
    amount = EncryptedTextField(_("合同金额"), blank=True, default="")
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    # Driven by services; the approvals issue will move draft → pending_approval → active.
    status = models.CharField(
        _("状态"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    # Why the contract was last cancelled / closed / sent back (shown on its page).
    status_reason = models.CharField(_("状态说明"), max_length=300, blank=True)
    terms = models.TextField(_("主要条款"), blank=True)
    notes = models.TextField(_("备注"), blank=True)
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_contracts",
        verbose_name=_("负责人"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("合同")
        verbose_name_plural = _("合同")
        indexes = [
            models.Index(fields=["owner", "id"], name="contract_owner"),
            models.Index(fields=["customer", "id"], name="contract_customer"),
            models.Index(fields=["status", "id"], name="contract_status"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def amount_value(self) -> Decimal:
        try:
            return Decimal(self.amount or "0")
        except InvalidOperation:
            return Decimal("0")


class ContractAttachment(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="contracts/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PaymentPlan(models.Model):
    """One instalment (期) of a contract's payment plan."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="plans")
    seq = models.PositiveSmallIntegerField(_("期数"))
    due_date = models.DateField(_("计划回款日期"))
    amount = models.DecimalField(_("计划回款金额"), **MONEY)
    # Received against this instalment: its own payments, then the contract's unassigned
    # payments in due-date order. Kept by the services (crm.contracts.services
    # _contract_allocate) so "due / overdue and not fully received" is one indexed query.
    received = models.DecimalField(_("已回款"), default=Decimal("0"), **MONEY)
    notes = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        ordering = ["contract", "seq"]
        constraints = [models.UniqueConstraint(fields=["contract", "seq"], name="plan_seq")]
        indexes = [models.Index(fields=["due_date"], name="plan_due")]

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.seq}"

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount - self.received, Decimal("0"))


class ContractNumberCounter(models.Model):
    """The last automatic number used per prefix and year (HT-2026 → 17).

    Incremented with one UPDATE inside the creating transaction, so two people saving at
    the same moment never get the same number (the row lock serialises them).
    """

    key = models.CharField(max_length=60, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Payment(DomainModel):
    """Money received (回款记录), against a contract and optionally one instalment."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    plan = models.ForeignKey(
        PaymentPlan,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        verbose_name=_("回款计划"),
    )
    amount = models.DecimalField(_("回款金额"), **MONEY)
    received_on = models.DateField(_("回款日期"))
    method = models.CharField(_("回款方式"), max_length=30, blank=True)
    reference = models.CharField(_("凭证号"), max_length=100, blank=True)
    notes = models.CharField(_("备注"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("回款记录")
        verbose_name_plural = _("回款记录")
        indexes = [models.Index(fields=["contract", "received_on"], name="payment_contract")]

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.amount}"
