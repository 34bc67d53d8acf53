"""A minimal owned domain record for testing the permission layer before real domain apps."""

from django.conf import settings
from django.db import models

from crm.core.models import DomainModel


class Note(DomainModel):
    title = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True)
    email = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.title
