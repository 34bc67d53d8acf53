"""Reminder-rule administration: the rules, editing one, preview / run now, the run log and
the working calendar. Administrators only (others get a 404). Thin: selectors read, services
write."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm.access.visibility import is_admin
from crm.core.config import setting_get, setting_set, setting_version
from crm.core.errors import DomainError, StaleVersion
from crm.core.viewutils import get_or_404
from crm.reminders import selectors, services
from crm.reminders.calendar import CALENDAR
from crm.reminders.forms import CalendarForm, RuleForm, RunForm
from crm.reminders.registry import condition_get


def _admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404()
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _params_summary(rule: Any) -> list[dict[str, Any]]:
    from crm.reminders.forms import PARAM_LABELS

    condition = condition_get(rule.condition)
    defaults = condition.defaults if condition else {}
    params = {**defaults, **(rule.params or {})}
    out = []
    for key in defaults:
        value = params.get(key)
        if isinstance(value, bool):
            text = _("是") if value else _("否")
        elif key == "festivals":
            text = "、".join(f"{v[1]}（{v[0]}）" for v in value or [] if len(v) >= 2) or "—"
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "—"
        else:
            text = str(value)
        out.append({"label": PARAM_LABELS.get(key, key), "value": text})
    return out


@_admin_required
def reminder_rule_list_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":  # the active toggle of one rule
        return _toggle(request)
    services.rules_ensure()
    rules = selectors.rule_list(actor=request.user)
    rows = []
    for rule in rules:
        condition = condition_get(rule.condition)
        rows.append(
            {
                "rule": rule,
                "description": condition.description if condition else "",
                "params": _params_summary(rule),
                "last_run": rule.last_run,  # type: ignore[attr-defined]
            }
        )
    return render(request, "reminders/rule_list.html", {"rows": rows})


def _toggle(request: HttpRequest) -> HttpResponse:
    rule = get_or_404(selectors.rule_get, actor=request.user, rule_id=request.POST.get("rule"))
    try:
        version = int(request.POST.get("version") or "")
    except ValueError:
        version = None
    try:
        services.rule_update(
            actor=request.user,
            rule=rule,
            expected_version=version,
            is_active=request.POST.get("is_active") == "1",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if rule.is_active:
            messages.success(request, _("已启用规则「%(name)s」。") % {"name": rule.name})
        else:
            messages.success(request, _("已停用规则「%(name)s」。") % {"name": rule.name})
    return redirect("reminder_rule_list")


@_admin_required
def reminder_rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_or_404(selectors.rule_get, actor=request.user, rule_id=pk)
    condition = condition_get(rule.condition)
    if condition is None:
        raise Http404()
    stale = False
    if request.method == "POST":
        form = RuleForm(request.POST, defaults=condition.defaults)
        if form.is_valid():
            try:
                services.rule_update(
                    actor=request.user,
                    rule=rule,
                    expected_version=form.cleaned_data["version"],
                    name=form.cleaned_data["name"],
                    params=form.params(),
                    is_active=bool(form.cleaned_data.get("is_active")),
                )
            except StaleVersion as exc:
                stale = True
                form.add_error(None, exc.message)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("规则「%(name)s」已保存。") % {"name": rule.name})
                return redirect("reminder_rule_list")
    else:
        form = RuleForm(
            initial=RuleForm.initial_for(rule, condition.defaults), defaults=condition.defaults
        )
    return render(
        request,
        "reminders/rule_edit.html",
        {"rule": rule, "condition": condition, "form": form, "stale": stale},
    )


@_admin_required
def reminder_run_view(request: HttpRequest) -> HttpResponse:
    rules = services.rules_ensure()
    results = None
    if request.method == "POST":
        form = RunForm(request.POST, rules=rules)
        if form.is_valid():
            names = {r.key: r.name for r in rules}
            try:
                found = services.rules_run(
                    now=form.cleaned_data["as_of"],
                    keys=form.cleaned_data.get("rules") or None,
                    dry_run=bool(form.cleaned_data.get("dry_run")),
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error("rules" if exc.field == "rule" else None, exc.message)
            else:
                results = {
                    "dry_run": bool(form.cleaned_data.get("dry_run")),
                    "as_of": form.cleaned_data["as_of"],
                    "rows": [{"name": names.get(r.rule, r.rule), "r": r} for r in found],
                }
    else:
        form = RunForm(initial=RunForm.default_initial(), rules=rules)
    runs = selectors.run_list(actor=request.user, limit=30)
    return render(request, "reminders/run.html", {"form": form, "results": results, "runs": runs})


@_admin_required
def working_calendar_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CalendarForm(request.POST)
        if form.is_valid():
            try:
                setting_set(
                    actor=request.user,
                    key=CALENDAR,
                    value=form.value(),
                    expected_version=form.cleaned_data.get("version"),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("工作日历已保存。"))
                return redirect("working_calendar")
    else:
        form = CalendarForm(
            initial=CalendarForm.initial_for(setting_get(CALENDAR), setting_version(CALENDAR))
        )
    return render(request, "reminders/working_calendar.html", {"form": form})
