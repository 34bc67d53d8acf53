"""The follow-up and task lists' filters, parsed in one place for the list pages and the
exports of those lists (crm/activities/exports.py): the same query string, the same rows."""

from __future__ import annotations

from typing import Any

from crm.activities import config
from crm.activities.forms import FollowUpFilterForm, TaskFilterForm
from crm.activities.selectors import task_assignee_choices


def followup_filter_form(actor: Any, params: Any) -> FollowUpFilterForm:
    return FollowUpFilterForm(params, kinds=config.followup_kinds())


def task_filter_form(actor: Any, params: Any) -> TaskFilterForm:
    # The actor is the "我的" choice already; the others are whom they may assign to.
    users = task_assignee_choices(actor=actor)
    return TaskFilterForm(params, users=[u for u in users if u.pk != actor.pk])
