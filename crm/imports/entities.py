"""Import batches in the permission layer: each user sees their own batches, managers their
team's (read-only), administrators all. Who may import what is the "import" action on the
imported entity itself (customer, contact, …), granted in the role editor."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.imports.models import ImportBatch
from crm.notifications.kinds import NotificationKind, kind_register

register(
    Entity(
        key="import_batch",
        model=ImportBatch,
        label=_("导入批次"),
        owner_field="created_by",
        fields=(FieldSpec("file_name", _("文件名")), FieldSpec("migration", _("迁移批次"))),
        actions=("view",),
    )
)
default_grants_add(
    "import_batch",
    {
        "sales_rep": (["view"], "own", "none"),
        "sales_manager": (["view"], "subtree", "none"),
        "marketing": (["view"], "own", "none"),
        "service": (["view"], "own", "none"),
        "finance": (["view"], "own", "none"),
    },
)

kind_register(NotificationKind("import_done", _("导入完成或中断"), ("inapp",)))
