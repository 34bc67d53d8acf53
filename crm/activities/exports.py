"""The follow-up and task lists in the export registry (crm.exports): the list pages' own
filter forms and selectors (with the managers' T+1 rule), the fields' Chinese labels."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from crm.activities import config
from crm.activities.filters import followup_filter_form, task_filter_form
from crm.activities.selectors import followup_filter, task_filter
from crm.exports.registry import Column, ExportSpec, export_register, field_column, id_column


def _followup_rows(actor: Any, params: Any) -> QuerySet:
    filters = followup_filter_form(actor, params).filters()
    return followup_filter(actor, filters).order_by("-at", "-id")


def followup_columns(actor: Any) -> list[Column]:
    kinds = dict(config.followup_kinds())
    return [
        id_column(),
        Column("customer_id", _("客户ID"), value=lambda f: f.customer_id),
        field_column(
            "customer", "name", key="customer", label=_("客户"), value=lambda f: f.customer.name
        ),
        field_column(
            "contact",
            "name",
            key="contact",
            label=_("联系人"),
            value=lambda f: f.contact.name if f.contact_id else "",
        ),
        field_column(
            "followup", "kind", display=lambda k: str(kinds.get(k) or config.followup_kind_label(k))
        ),
        field_column("followup", "content"),
        Column("at", _("跟进时间")),
        field_column("followup", "next_action"),
        Column("next_follow_up_at", _("下次跟进时间")),
        field_column("followup", "location"),
        Column("author", _("跟进人"), value=lambda f: f.author.name),
    ]


export_register(
    ExportSpec(
        entity="followup",
        label=_("跟进记录"),
        columns=followup_columns,
        rows=_followup_rows,
        list_url="followup_list",
    )
)


def _task_rows(actor: Any, params: Any) -> QuerySet:
    filters = task_filter_form(actor, params).filters()
    return task_filter(actor, filters).order_by("due_at", "id")


def _task_status(task: Any) -> str:
    return _t("已完成") if task.done_at else _t("未完成")


def task_columns(actor: Any) -> list[Column]:
    return [
        id_column(),
        field_column("task", "title"),
        field_column("task", "notes"),
        Column("due_at", _("截止时间")),
        Column("assignee", _("负责人"), value=lambda t: t.assignee.name),
        field_column(
            "customer",
            "name",
            key="customer",
            label=_("相关客户"),
            value=lambda t: t.customer.name if t.customer_id else "",
        ),
        Column("status", _("状态"), value=_task_status),
        Column("done_at", _("完成时间")),
    ]


export_register(
    ExportSpec(
        entity="task",
        label=_("待办"),
        columns=task_columns,
        rows=_task_rows,
        list_url="task_list",
    )
)
