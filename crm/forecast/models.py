"""Sales targets set by managers, per person or department and month."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel


class SalesTarget(TimeStampedModel):
    # Exactly one of user / department is set.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("销售"),
    )
    department = models.ForeignKey(
        "access.Department",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("部门"),
    )
    month = models.DateField(_("月份"))  # the first day of the month
    amount = models.DecimalField(_("目标金额"), max_digits=16, decimal_places=2)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["month", "id"]
        verbose_name = _("销售目标")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "month"],
                name="target_user_month",
                condition=models.Q(user__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["department", "month"],
                name="target_dept_month",
                condition=models.Q(department__isnull=False),
            ),
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(department__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(department__isnull=False)),
                name="target_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.amount}"


class ForecastMonth(models.Model):
    """The forecast's summary: one row per owner, pipeline and month with the sums the
    forecast shows. Open deals count in the month of their expected close date, won deals
    in the month they were won. Maintained by database triggers on the opportunity table
    (crm/forecast/summary.py), so every write path — services, recycle bin, bulk
    reassignment, imports — keeps it right; `forecast_summary_rebuild` recomputes it.

    Money is kept in whole fen (分) so that adding and subtracting in the triggers is exact;
    `weighted` is Σ amount in fen × probability in percent (÷ 10,000 for yuan).
    """

    # No foreign-key constraints (the triggers write these rows) and no single-column indexes
    # (the unique key starts with the owner; pipelines are hardly ever deleted).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    pipeline = models.ForeignKey(
        "opportunities.Pipeline",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    month = models.DateField()  # the first day of the month
    # Open deals, by forecast category (amounts in fen).
    pipeline_amount = models.BigIntegerField(default=0)
    best_amount = models.BigIntegerField(default=0)
    commit_amount = models.BigIntegerField(default=0)
    omitted_amount = models.BigIntegerField(default=0)
    weighted = models.BigIntegerField(default=0)  # open, not omitted
    open_deals = models.IntegerField(default=0)
    # Won deals.
    won_amount = models.BigIntegerField(default=0)
    won_deals = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # The triggers' upsert target; also the index of one owner's months.
            models.UniqueConstraint(
                fields=["owner", "month", "pipeline"], name="forecast_month_key"
            ),
        ]
        indexes = [
            # Covering index of the wide reads (many owners, a range of months).
            models.Index(
                fields=[
                    "month",
                    "owner",
                    "pipeline",
                    "pipeline_amount",
                    "best_amount",
                    "commit_amount",
                    "omitted_amount",
                    "weighted",
                    "open_deals",
                    "won_amount",
                    "won_deals",
                ],
                name="forecast_month_read",
            ),
            # The same for a manager's owners (owner IN …, a range of months).
            models.Index(
                fields=[
                    "owner",
                    "month",
                    "pipeline",
                    "pipeline_amount",
                    "best_amount",
                    "commit_amount",
                    "omitted_amount",
                    "weighted",
                    "open_deals",
                    "won_amount",
                    "won_deals",
                ],
                name="forecast_month_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.pipeline_id} {self.month:%Y-%m}"
