"""Keep the materialised department path right when departments are created outside services."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from crm.access.models import Department


@receiver(post_save, sender=Department)
def _department_path(sender: Any, instance: Department, created: bool, **kwargs: Any) -> None:
    if created and instance.path in ("", "/"):
        parent_path = instance.parent.path if instance.parent_id and instance.parent else "/"
        instance.path = f"{parent_path}{instance.pk}/"
        Department.objects.filter(pk=instance.pk).update(path=instance.path)
