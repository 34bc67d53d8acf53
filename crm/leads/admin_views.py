"""Administration of lead assignment rules (order, test a lead, fallback) and web forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.visibility import is_admin
from crm.core.errors import DomainError
from crm.core.viewutils import get_or_404
from crm.customers.forms import PROVINCES
from crm.leads import config
from crm.leads.forms import CaptureFormAdminForm, LeadSettingsForm, RuleForm, RuleTestForm
from crm.leads.selectors import (
    active_users,
    capture_form_get,
    capture_forms_list,
    rule_get,
    rule_stats,
    rules_list,
    team_departments,
    user_by_id,
)
from crm.leads.services import (
    assignment_preview,
    capture_form_delete,
    capture_form_save,
    leads_settings_update,
    rule_delete,
    rule_move,
    rule_save,
)


def _admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrator pages: anyone else gets the same 404 as for a page that does not exist."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404()
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _rule_form(data: Any = None, initial: Any = None) -> RuleForm:
    return RuleForm(data, initial=initial, departments=team_departments(), users=active_users())


def _settings_form(data: Any = None) -> LeadSettingsForm:
    initial = {
        "fallback_user": config.assignment_settings().get("fallback_user_id"),
        "rate_per_minute": config.capture_settings().get("rate_per_minute", 5),
    }
    return LeadSettingsForm(data, initial=initial, users=active_users())


def _rules_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    stats = rule_stats()
    rules = rules_list()
    context: dict[str, Any] = {
        "rules": [{"rule": r, "count": stats.get(r.pk, 0)} for r in rules],
        "form": extra.pop("form", None) or _rule_form(initial={"is_active": True}),
        "settings_form": extra.pop("settings_form", None) or _settings_form(),
        "test_form": RuleTestForm(),
        "fallback_user": user_by_id(config.assignment_settings().get("fallback_user_id")),
        "provinces": PROVINCES,
        "sources": config.source_choices(),
        **extra,
    }
    return render(
        request, "leads/admin/rules.html", context, status=400 if extra.get("bad") else 200
    )


@_admin_required
def lead_rules_view(request: HttpRequest) -> HttpResponse:
    """The rules in order, a form to add one, the fallback, and "test a lead"."""
    if request.method != "POST":
        return _rules_page(request)
    form = _rule_form(request.POST)
    if form.is_valid():
        try:
            rule = rule_save(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已添加规则「%s」") % rule.name)
            return redirect("lead_rules")
    return _rules_page(request, form=form, bad=True, open_new=True)


@_admin_required
def lead_rule_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_or_404(rule_get, actor=request.user, rule_id=pk)
    if request.method != "POST":
        form = _rule_form(initial=RuleForm.initial_for(rule))
        return render(request, "leads/admin/rule_form.html", {"form": form, "rule": rule})
    form = _rule_form(request.POST)
    if form.is_valid():
        try:
            rule_save(actor=request.user, data=form.cleaned_data, rule=rule)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存规则「%s」") % rule.name)
            return redirect("lead_rules")
    return render(request, "leads/admin/rule_form.html", {"form": form, "rule": rule}, status=400)


@_admin_required
@require_POST
def lead_rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_or_404(rule_get, actor=request.user, rule_id=pk)
    name = rule.name
    try:
        rule_delete(actor=request.user, rule=rule)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除规则「%s」（分配记录中保留规则名称）") % name)
    return redirect("lead_rules")


@_admin_required
@require_POST
def lead_rule_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_or_404(rule_get, actor=request.user, rule_id=pk)
    try:
        rule_move(actor=request.user, rule=rule, up=request.POST.get("direction") != "down")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("lead_rules") + f"#rule-{rule.pk}")


@_admin_required
def lead_rule_test_view(request: HttpRequest) -> HttpResponse:
    """Which rule would assign a lead with these values, and to whom (changes nothing)."""
    form = RuleTestForm(request.GET)
    decision = None
    if form.is_valid() and any(form.cleaned_data.values()):
        decision = assignment_preview(actor=request.user, data=form.cleaned_data)
    context = {"decision": decision, "test_form": form, "tested": decision is not None}
    if getattr(request, "htmx", None):
        return render(request, "leads/admin/_rule_test.html", context)
    return _rules_page(request, **context)


@_admin_required
@require_POST
def lead_settings_view(request: HttpRequest) -> HttpResponse:
    form = _settings_form(request.POST)
    if form.is_valid():
        try:
            leads_settings_update(
                actor=request.user,
                fallback_user=form.cleaned_data["fallback_user"],
                rate_per_minute=form.cleaned_data["rate_per_minute"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存线索设置"))
            return redirect("lead_rules")
    return _rules_page(request, settings_form=form, bad=True)


# ----------------------------------------------------------------- web forms


def embed_snippet(request: HttpRequest, form: Any) -> dict[str, str]:
    base = getattr(settings, "SITE_URL", "") or request.build_absolute_uri("/").rstrip("/")
    if "127.0.0.1" in base or "localhost" in base:
        base = request.build_absolute_uri("/").rstrip("/")
    url = base + reverse("capture_form", args=[form.key])
    iframe = (
        f'<iframe src="{escape(url)}" title="{escape(form.name)}" loading="lazy" '
        'style="width:100%;max-width:520px;height:680px;border:0"></iframe>'
    )
    return {"url": url, "iframe": iframe}


def _capture_data(form: CaptureFormAdminForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["fields"] = data.pop("ask", [])
    return data


@_admin_required
def lead_forms_view(request: HttpRequest) -> HttpResponse:
    forms_ = capture_forms_list()
    if request.method == "POST":
        form = CaptureFormAdminForm(request.POST)
        if form.is_valid():
            try:
                created = capture_form_save(actor=request.user, data=_capture_data(form))
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(
                    request, _("已创建表单「%s」，把下面的代码放到网站上即可") % created.name
                )
                return redirect("lead_form_edit", pk=created.pk)
        status = 400
    else:
        form = CaptureFormAdminForm(initial={"is_active": True, "source": _("官网表单")})
        status = 200
    rows = [{"form": f, **embed_snippet(request, f)} for f in forms_]
    context = {"rows": rows, "form": form, "sources": config.source_choices()}
    return render(request, "leads/admin/forms.html", context, status=status)


@_admin_required
def lead_form_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    capture = get_or_404(capture_form_get, actor=request.user, form_id=pk)
    status = 200
    if request.method == "POST":
        form = CaptureFormAdminForm(request.POST)
        if form.is_valid():
            try:
                capture_form_save(actor=request.user, data=_capture_data(form), form=capture)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("已保存表单「%s」") % capture.name)
                return redirect("lead_form_edit", pk=capture.pk)
        status = 400
    else:
        form = CaptureFormAdminForm(initial=CaptureFormAdminForm.initial_for(capture))
    context = {
        "capture": capture,
        "form": form,
        "sources": config.source_choices(),
        **embed_snippet(request, capture),
    }
    return render(request, "leads/admin/form_edit.html", context, status=status)


@_admin_required
@require_POST
def lead_form_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    capture = get_or_404(capture_form_get, actor=request.user, form_id=pk)
    name = capture.name
    try:
        capture_form_delete(actor=request.user, form=capture)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除表单「%s」，嵌入它的网页将显示“页面不存在”") % name)
    return redirect("lead_forms")
