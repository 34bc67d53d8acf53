"""Duplicate detection and merge: blocking keys, the review queue of candidate pairs, merges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CustomerKey(models.Model):
    """One blocking key of a customer (see crm.dedupe.keys): the fuzzy-name lookup table.

    Derived data, rebuilt from Customer.name / province / city whenever the customer's
    `updated_at` differs from `stamp` (crm.dedupe.blocking.keys_sync). Exact keys (credit
    code, name_key, phones, emails) are looked up on the customer and contact tables.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=100)
    stamp = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "customer"], name="dedupe_key_lookup"),
            models.Index(fields=["customer", "stamp"], name="dedupe_key_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.key}"


class DedupeState(models.Model):
    """Singleton (pk=1): customers updated before `synced_until` have their keys; when the
    keys were last rebuilt; when the last scans started and what they found."""

    synced_until = models.DateTimeField(null=True, blank=True)
    full_at = models.DateTimeField(null=True, blank=True)
    scan_at = models.DateTimeField(null=True, blank=True)
    full_scan_at = models.DateTimeField(null=True, blank=True)
    scan_stats = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"keys synced until {self.synced_until}"


class PairStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    MERGED = "merged", _("已合并")
    DISMISSED = "dismissed", _("不是重复")
    OBSOLETE = "obsolete", _("已失效")


class PairSource(models.TextChoices):
    SCAN = "scan", _("定期扫描")
    IMPORT = "import", _("导入")
    MANUAL = "manual", _("手动")


class DuplicatePair(models.Model):
    """A candidate pair of customers for review. a_id < b_id, one row per pair."""

    a = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    b = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("相似度"))
    reasons = models.JSONField(_("原因"), default=list)
    exact = models.BooleanField(_("关键字段相同"), default=False)
    auto_merge_ok = models.BooleanField(default=False)
    status = models.CharField(
        _("状态"), max_length=20, choices=PairStatus.choices, default=PairStatus.OPEN
    )
    source = models.CharField(
        _("来源"), max_length=20, choices=PairSource.choices, default=PairSource.SCAN
    )
    source_ref = models.CharField(max_length=64, blank=True)  # e.g. the import batch id
    found_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merge = models.ForeignKey(
        "MergeRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="pairs"
    )

    class Meta:
        ordering = ["-score", "-id"]
        verbose_name = _("疑似重复客户")
        verbose_name_plural = _("疑似重复客户")
        constraints = [
            models.UniqueConstraint(fields=["a", "b"], name="dedupe_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(a__lt=models.F("b")), name="dedupe_pair_a_lt_b"
            ),
        ]
        indexes = [models.Index(fields=["status", "-score", "-id"], name="dedupe_pair_queue")]

    def __str__(self) -> str:
        return f"{self.a_id}~{self.b_id} ({self.score:.0f})"


class MergeRecord(models.Model):
    """One merge: everything needed to undo it exactly.

    moved: {"app_label.Model.field": [ids re-pointed from the loser to the survivor]}
    dropped: {"app_label.Model": [{field: value, ...}]} link rows of the loser removed because
        the survivor already had the same one (a tag, a collaborator); recreated on undo.
    survivor_before / survivor_after: the survivor's merged fields before and after.
    """

    # SET_NULL: purging a customer from the recycle bin keeps the history (undo then refuses).
    survivor = models.ForeignKey(
        "customers.Customer",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("保留客户"),
    )
    loser = models.ForeignKey(
        "customers.Customer",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("被合并客户"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    choices = models.JSONField(default=dict)
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    loser_version = models.PositiveIntegerField(default=0)
    moved = models.JSONField(default=dict)
    dropped = models.JSONField(default=dict)
    # {"pairs": {pair id: status before}, "primary_cleared": [contact ids],
    #  "kept": {"app.Model": [ids left on the loser: a unique constraint of a domain record]}}
    extra = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("合并时间"), default=timezone.now)
    undone_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("客户合并记录")
        verbose_name_plural = _("客户合并记录")
        indexes = [models.Index(fields=["loser"], name="dedupe_merge_loser")]

    def __str__(self) -> str:
        return f"merge #{self.pk}: {self.loser_id} → {self.survivor_id}"
