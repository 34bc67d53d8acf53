"""Sales targets in the permission layer and the default roles.

A person's target is owned by that person (owner field `user`): a rep sees their own, a
manager sees — and, with the default edit scope `subtree`, sets — the targets of their
department, its sub-departments and their reports. A department's target has no owner; it
is seen by everyone whose department is that department or above it (extra_visible), and
set by those whose edit scope reaches the department (crm.forecast.services).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.forecast.models import SalesTarget


def _department_targets(actor: Any) -> Q:
    if not actor.department_id:
        return Q(pk__in=[])
    from crm.access.models import Department

    below = Department.objects.filter(path__startswith=actor.department.path).values("pk")
    return Q(department_id__in=below)


SALES_TARGET = register(
    Entity(
        key="sales_target",
        model=SalesTarget,
        label=_("销售目标"),
        owner_field="user",
        extra_visible=_department_targets,
        fields=(FieldSpec("amount", _("目标金额"), kind="money"),),
        actions=("view", "create", "edit", "delete", "export"),
    )
)

default_grants_add(
    "sales_target",
    {
        "sales_rep": (["view"], "own", "none"),
        "sales_manager": (["view", "create", "edit", "delete", "export"], "subtree", "subtree"),
        "marketing": (["view"], "all", "none"),
        "finance": (["view", "export"], "all", "none"),
    },
)
