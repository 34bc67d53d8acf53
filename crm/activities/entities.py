"""Follow-ups and tasks in the permission layer, the timeline, the default roles."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access.defaults import default_grants_add
from crm.access.registry import Entity, FieldSpec, register
from crm.activities.models import FollowUp, Task
from crm.timeline.services import TimelineKind, timeline_kind_register


def _followup_restored(obj: Any, actor: Any) -> None:
    from crm.activities.services import followup_after_restore

    followup_after_restore(obj, actor)


def _followup_extra(actor: Any) -> Q:
    from crm.customers.models import CustomerCollaborator

    return Q(author_id=actor.pk) | Q(
        customer_id__in=CustomerCollaborator.objects.filter(user_id=actor.pk).values("customer_id")
    )


register(
    Entity(
        key="followup",
        model=FollowUp,
        label=_("跟进记录"),
        # Who may see a follow-up follows the customer's owner (a manager sees the team's).
        owner_field="customer__owner",
        soft_delete=True,
        extra_visible=_followup_extra,
        extra={"after_restore": lambda obj, actor: _followup_restored(obj, actor)},
        fields=(
            FieldSpec("kind", _("跟进方式")),
            FieldSpec("content", _("跟进内容")),
            FieldSpec("next_action", _("下一步")),
            FieldSpec("location", _("地点")),
        ),
    )
)


def _task_extra(actor: Any) -> Q:
    return Q(created_by_id=actor.pk)


register(
    Entity(
        key="task",
        model=Task,
        label=_("待办"),
        owner_field="assignee",
        soft_delete=True,
        extra_visible=_task_extra,
        fields=(FieldSpec("title", _("标题")), FieldSpec("notes", _("备注"))),
    )
)

_REP = (["view", "create", "edit", "delete"], "own", "own")
_MANAGER = (["view", "create", "edit", "delete", "export"], "subtree", "own")
# Managers assign tasks to their team and may change them; their team's follow-ups stay
# read-only (what was said is the rep's record).
_MANAGER_TASKS = (["view", "create", "edit", "delete", "export"], "subtree", "subtree")
for _entity in ("followup", "task"):
    default_grants_add(
        _entity,
        {
            "sales_rep": _REP,
            "sales_manager": _MANAGER_TASKS if _entity == "task" else _MANAGER,
            "marketing": (["view", "create", "edit"], "own", "own"),
            "service": (["view", "create", "edit"], "own", "own"),
            "finance": (["view"], "own", "none"),
        },
    )

timeline_kind_register(TimelineKind("followup", _("跟进"), "message", "azure"))
timeline_kind_register(TimelineKind("task", _("待办"), "checkbox", "lime"))
