"""The duplicate queue in the permission layer, and the timeline kinds of merges.

`duplicate` has no owner: who may review duplicates is the grant ("view" the queue, "edit"
= merge, dismiss, undo); which pairs and merges a user meets is decided by the customers:
both must be visible to see a pair, both editable to merge it (crm.dedupe.selectors /
services).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, register
from crm.dedupe.models import DuplicatePair
from crm.timeline.services import TimelineKind, timeline_kind_register

DUPLICATE = register(
    Entity(
        key="duplicate",
        model=DuplicatePair,
        label=_("重复客户与合并"),
        owner_field=None,
        actions=("view", "edit"),
    )
)
default_grants_add("duplicate", {"sales_manager": (["view", "edit"], "all", "all")})

timeline_kind_register(TimelineKind("merged", _("合并客户"), "git-merge", "purple"))
timeline_kind_register(TimelineKind("merge_undone", _("撤销合并"), "arrow-back-up", "orange"))
