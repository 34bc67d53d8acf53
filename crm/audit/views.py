"""The audit log page for administrators: filters, keyset pages, readable changes, verify."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import field_level
from crm.access.models import Action, FieldAccess, Scope
from crm.access.registry import entity_exists, entity_get, entity_list
from crm.access.selectors import department_names, role_list, user_names
from crm.access.visibility import is_admin
from crm.audit.models import AuditAction
from crm.audit.selectors import audit_list
from crm.audit.services import audit_verify_and_record
from crm.core.crypto import PREFIX as CRYPTO_PREFIX
from crm.core.crypto import decrypt_text
from crm.core.errors import DomainError
from crm.core.pagination import Page

# Entries about things that are not registered entities (see audit_record's callers).
EXTRA_ENTITIES = {"audit": gettext_lazy("审计链"), "apitoken": gettext_lazy("API 令牌")}

# Keys that appear in `changes` but are not model fields of the entry's entity.
KEY_LABELS = {
    "entity": gettext_lazy("对象"),
    "grant": gettext_lazy("授权"),
    "field": gettext_lazy("字段"),
    "access": gettext_lazy("访问级别"),
    "actions": gettext_lazy("操作"),
    "scope": gettext_lazy("可见范围"),
    "edit_scope": gettext_lazy("可编辑范围"),
    "roles": gettext_lazy("角色"),
    "password": gettext_lazy("密码"),
    "created": gettext_lazy("新建"),
    "deleted": gettext_lazy("删除"),
    "revoked": gettext_lazy("撤销"),
    "repr": gettext_lazy("记录"),
    "username": gettext_lazy("用户名"),
    "ok": gettext_lazy("结果"),
    "checked": gettext_lazy("已校验条数"),
    "problems": gettext_lazy("问题"),
}
# Values of these keys are choices: show their labels.
CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "scope": dict(Scope.choices),
    "edit_scope": dict(Scope.choices),
    "access": dict(FieldAccess.choices),
    "actions": dict(Action.choices),
}
DEPARTMENT_KEYS = {"department_id", "parent_id"}
USER_KEYS = {"manager_id"}


def entity_choices() -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [("", _("全部"))]
    choices += [(e.key, e.label) for e in entity_list()]
    choices += list(EXTRA_ENTITIES.items())
    return choices


def entity_label(key: str) -> Any:
    if entity_exists(key):
        return entity_get(key).label
    return EXTRA_ENTITIES.get(key, key)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("操作人"), required=False, max_length=150)
    action = forms.ChoiceField(label=gettext_lazy("动作"), required=False)
    entity = forms.ChoiceField(label=gettext_lazy("对象"), required=False)
    object_id = forms.CharField(label=gettext_lazy("记录ID"), required=False, max_length=64)
    date_from = forms.DateField(
        label=gettext_lazy("从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("到"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ip = forms.CharField(label=gettext_lazy("IP"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部")), *AuditAction.choices]  # type: ignore[attr-defined]
        self.fields["entity"].choices = entity_choices()  # type: ignore[attr-defined]
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def filters(self) -> dict[str, Any]:
        """The valid filters only: a bad date is reported next to its field, not a failed page."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items() if v}


# ---------------------------------------------------------------- readable changes


@dataclass
class ChangeLine:
    label: Any
    new: str
    old: str | None = None  # set when the line is a change "old → new"


@dataclass
class AuditRow:
    entry: Any
    entity_label: Any
    lines: list[ChangeLine]


class _Names:
    """Names for ids found in a page of entries, looked up in two queries for the whole page."""

    def __init__(self, actor: Any, entries: list[Any]) -> None:
        self.actor = actor
        dept_ids: list[Any] = []
        user_ids: list[Any] = []
        for entry in entries:
            for key, value in (entry.changes or {}).items():
                values = value if isinstance(value, list) else [value]
                if key in DEPARTMENT_KEYS:
                    dept_ids.extend(values)
                elif key in USER_KEYS:
                    user_ids.extend(values)
        self.departments = department_names(actor=actor, ids=dept_ids)
        self.users = user_names(actor=actor, ids=user_ids)
        has_roles = any("roles" in (e.changes or {}) for e in entries)
        self.roles = {r.code: r.name for r in role_list(actor=actor)} if has_roles else {}

    def resolve(self, key: str, value: Any) -> str | None:
        if key == "roles" and isinstance(value, str):
            return self.roles.get(value, value)
        table = (
            self.departments if key in DEPARTMENT_KEYS else self.users if key in USER_KEYS else None
        )
        if table is None or not isinstance(value, int):
            return None
        return table.get(value, f"#{value}")


def _key_label(entry: Any, key: str, changes: dict[str, Any]) -> Any:
    entity_key = entry.entity
    if entity_exists(entity_key):
        model = entity_get(entity_key).model
        name = key[:-3] if key.endswith("_id") else key
        try:
            return model._meta.get_field(name).verbose_name  # type: ignore[union-attr]
        except FieldDoesNotExist:
            pass  # not a model field (e.g. "roles" on a role entry): the labels below
    return KEY_LABELS.get(key, key)


def _fmt(value: Any, key: str, names: _Names, changes: dict[str, Any]) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    resolved = names.resolve(key, value)
    if resolved is not None:
        return resolved
    if key in CHOICE_LABELS:
        labels = CHOICE_LABELS[key]
        if isinstance(value, list):
            return "、".join(str(labels.get(v, v)) for v in value)
        return str(labels.get(value, value))
    if key == "entity" and isinstance(value, str):
        return str(entity_label(value))
    if key == "field" and isinstance(value, str) and entity_exists(str(changes.get("entity", ""))):
        spec = entity_get(str(changes["entity"])).field(value)
        return str(spec.label) if spec else value
    if isinstance(value, dict):
        parts = [f"{KEY_LABELS.get(k, k)}: {_fmt(v, k, names, changes)}" for k, v in value.items()]
        return "；".join(parts)
    if isinstance(value, list):
        return "、".join(_fmt(v, key, names, changes) for v in value)
    return str(value)


def _readable(entry: Any, key: str, value: Any, names: _Names) -> Any:
    """A value the service wrote encrypted (a sensitive field such as a contract's amount,
    never clear at rest): its clear text for a reader whose field security shows the field,
    "****" for anyone else; other values unchanged."""
    if not (isinstance(value, str) and value.startswith(CRYPTO_PREFIX)):
        return value
    level = (
        field_level(names.actor, entry.entity, key)
        if entity_exists(entry.entity)
        else FieldAccess.HIDDEN
    )
    if level not in (FieldAccess.READONLY, FieldAccess.EDITABLE):
        return "****"
    try:
        return decrypt_text(value)
    except ValueError:
        return _("（无法解密）")


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


def change_lines(entry: Any, names: _Names) -> list[ChangeLine]:
    """An entry's changes as lines a person reads: "字段: 旧 → 新" for updates."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    pairs = entry.action in (AuditAction.UPDATE, AuditAction.PERMISSION)
    lines = []
    for key, value in changes.items():
        label = _key_label(entry, key, changes)
        if key == "password":
            lines.append(ChangeLine(label=label, new=_("已重置")))
        elif pairs and _is_pair(value) and all(isinstance(v, dict) for v in value):
            # {"grant": [{before}, {after}]}: one line per part that changed.
            before, after = value
            for sub in dict.fromkeys([*before, *after]):
                if before.get(sub) != after.get(sub):
                    lines.append(
                        ChangeLine(
                            label=f"{label} · {KEY_LABELS.get(sub, sub)}",
                            old=_fmt(before.get(sub), sub, names, changes),
                            new=_fmt(after.get(sub), sub, names, changes),
                        )
                    )
        elif pairs and _is_pair(value) and key != "actions":
            old, new = (_readable(entry, key, v, names) for v in value)
            lines.append(
                ChangeLine(
                    label=label,
                    old=_fmt(old, key, names, changes),
                    new=_fmt(new, key, names, changes),
                )
            )
        elif entry.action == AuditAction.CREATE and value in (None, "", [], False):
            continue  # a new record's empty fields say nothing
        else:
            shown = _readable(entry, key, value, names)
            lines.append(ChangeLine(label=label, new=_fmt(shown, key, names, changes)))
    return lines


def audit_rows(actor: Any, entries: list[Any]) -> list[AuditRow]:
    names = _Names(actor, entries)
    return [
        AuditRow(e, entity_label(e.entity) if e.entity else "", change_lines(e, names))
        for e in entries
    ]


# ---------------------------------------------------------------- views


def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise Http404()


@login_required
@vary_on_headers("HX-Request")
def audit_list_view(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = AuditFilterForm(request.GET or None)
    filters = form.filters()
    error = ""
    try:
        page = audit_list(
            actor=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except DomainError as exc:
        page, error = Page(items=[], next=None), exc.message
    context = {
        "form": form,
        "page": page,
        "rows": audit_rows(request.user, page.items),
        "error": error,
        "filtered": bool(filters),
    }
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request and htmx.target == "audit-results":
        return render(request, "audit/_audit_results.html", context)
    return render(request, "audit/audit_list.html", context)


@login_required
@require_POST
def audit_verify_view(request: HttpRequest) -> HttpResponse:
    """Check the whole chain now; the result is itself written to the log."""
    _require_admin(request)
    result = audit_verify_and_record()
    if getattr(request, "htmx", None):
        return render(request, "audit/_verify_result.html", {"result": result})
    if result.ok:
        messages.success(
            request, _("审计链完整：已校验 %d 条记录，未发现篡改或删除。") % result.checked
        )
    else:
        messages.error(request, _("审计链有问题：%s") % "；".join(result.problems[:5]))
    return redirect("audit_list")
