"""Products, price lists, products on an opportunity, quotes (报价) and their revisions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import DomainModel, TimeStampedModel

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


class Product(DomainModel):
    code = models.CharField(_("产品编码"), max_length=50, unique=True)
    name = models.CharField(_("产品名称"), max_length=200)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    category = models.CharField(_("产品分类"), max_length=50, blank=True)
    unit = models.CharField(_("单位"), max_length=20, default="台")
    list_price = models.DecimalField(_("标准价"), default=Decimal("0"), **MONEY)
    # Percent, e.g. 13.00 for the usual VAT on goods.
    tax_rate = models.DecimalField(_("税率（%）"), max_digits=5, decimal_places=2, default=13)
    description = models.TextField(_("描述"), blank=True)
    is_active = models.BooleanField(_("在售"), default=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("产品")
        verbose_name_plural = _("产品")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceList(TimeStampedModel):
    name = models.CharField(_("价格表名称"), max_length=100, unique=True)
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_until = models.DateField(_("失效日期"), null=True, blank=True)
    is_default = models.BooleanField(_("默认"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("价格表")

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    price = models.DecimalField(_("价格"), **MONEY)
    min_quantity = models.DecimalField(
        _("起订量"), max_digits=12, decimal_places=2, default=Decimal("1")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelist_product")
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}:{self.product_id}={self.price}"


class OpportunityProduct(models.Model):
    """The products an opportunity is about (quantities and expected prices)."""

    opportunity = models.ForeignKey(
        "opportunities.Opportunity", on_delete=models.CASCADE, related_name="product_lines"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("单价"), **MONEY)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.opportunity_id}:{self.product_id}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SENT = "sent", _("已发送")
    ACCEPTED = "accepted", _("客户已接受")
    REJECTED = "rejected", _("客户已拒绝")
    EXPIRED = "expired", _("已过期")


class Quote(DomainModel):
    number = models.CharField(_("报价单号"), max_length=40, unique=True)
    title = models.CharField(_("报价标题"), max_length=200)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="quotes",
        verbose_name=_("客户"),
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
        verbose_name=_("商机"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("联系人"),
    )
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("价格表")
    )
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    # Whole-quote discount in percent, applied after the line discounts.
    discount_pct = models.DecimalField(
        _("整单折扣（%）"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    tax_included = models.BooleanField(_("含税价"), default=True)
    # Totals of the current revision (denormalised for lists).
    subtotal = models.DecimalField(_("小计"), default=Decimal("0"), **MONEY)
    discount_amount = models.DecimalField(_("折扣金额"), default=Decimal("0"), **MONEY)
    tax_amount = models.DecimalField(_("税额"), default=Decimal("0"), **MONEY)
    total = models.DecimalField(_("总计"), default=Decimal("0"), **MONEY)
    revision = models.PositiveIntegerField(_("修订版本"), default=1)
    terms = models.TextField(_("条款"), blank=True)
    notes = models.TextField(_("备注"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_quotes",
        verbose_name=_("负责人"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("报价单")
        verbose_name_plural = _("报价单")
        indexes = [
            models.Index(fields=["owner", "id"], name="quote_owner"),
            models.Index(fields=["customer", "id"], name="quote_customer"),
            models.Index(fields=["opportunity", "id"], name="quote_opportunity"),
            # The nightly expiry job: open quotes whose validity has passed.
            models.Index(fields=["status", "valid_until"], name="quote_status_valid"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in (QuoteStatus.DRAFT, QuoteStatus.SENT)

    def is_past_validity(self, today: dt.date) -> bool:
        return self.valid_until is not None and self.valid_until < today

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class QuoteLine(models.Model):
    """A line of the CURRENT revision; earlier revisions keep their lines in QuoteRevision."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("品名"), max_length=200)
    description = models.CharField(_("规格说明"), max_length=500, blank=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("单价"), **MONEY)
    discount_pct = models.DecimalField(
        _("折扣（%）"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    tax_rate = models.DecimalField(_("税率（%）"), max_digits=5, decimal_places=2, default=13)
    amount = models.DecimalField(_("金额"), **MONEY)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class QuoteRevision(models.Model):
    """Every saved version of a quote (历史报价策略): its lines, totals, who changed what."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)  # header fields + lines + totals
    changes = models.JSONField(default=dict, blank=True)  # diff against the previous revision
    note = models.CharField(_("修订说明"), max_length=300, blank=True)
    total = models.DecimalField(_("总计"), **MONEY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["quote", "number"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "number"], name="quoterevision_unique")
        ]

    def __str__(self) -> str:
        return f"{self.quote_id} v{self.number}"


class QuoteSequence(models.Model):
    """The last number handed out per prefix and year (BJ-2026-000123).

    Incremented with a single UPDATE … SET last = last + 1 inside the creating transaction,
    so two people creating quotes at the same moment never get the same number.
    """

    key = models.CharField(max_length=40, unique=True)  # "BJ-2026"
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}:{self.last}"
