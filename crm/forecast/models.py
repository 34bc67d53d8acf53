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
