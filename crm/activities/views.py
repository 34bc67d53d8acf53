"""Follow-up, task, calendar and settings pages (htmx, phone first): thin, over services and
selectors. A record outside the actor's scope is a 404; a domain error is shown next to its
field and nothing the user typed is lost."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.visibility import can, is_admin
from crm.activities import config
from crm.activities.filters import followup_filter_form, task_filter_form
from crm.activities.forms import (
    ActivitySettingsForm,
    FollowUpFilterForm,
    FollowUpForm,
    TalkScriptForm,
    TaskForm,
)
from crm.activities.models import FollowUp, Task
from crm.activities.selectors import (
    attachment_get,
    calendar_feed_ics_unscoped,
    followup_contact_choices,
    followup_customer_choices,
    followup_get,
    followup_list,
    my_day,
    talkscript_get,
    talkscript_list,
    task_assignee_choices,
    task_get,
    task_list,
)
from crm.activities.services import (
    calendar_feed_get,
    followup_create,
    followup_delete,
    followup_settings_update,
    talkscript_delete,
    talkscript_save,
    task_create,
    task_set_done,
    task_update,
)
from crm.core.errors import DomainError, NotFound, StaleVersion
from crm.core.viewutils import fragment_target, get_or_404, redirect_htmx, safe_next
from crm.customers.selectors import customer_get

PAGE_SIZE = 30


# ----------------------------------------------------------------- helpers


def _local_input(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def _admin_or_404(actor: Any) -> None:
    if not is_admin(actor):
        raise Http404()


# ----------------------------------------------------------------- follow-ups


def _followup_form(
    actor: Any, customer: Any, data: Any = None, initial: dict[str, Any] | None = None
) -> FollowUpForm:
    settings = config.followup_settings()
    return FollowUpForm(
        data,
        initial=initial,
        kinds=config.followup_kinds(),
        contacts=followup_contact_choices(actor=actor, customer_id=customer.pk),
        next_action_required=bool(settings.get("next_action_required")),
    )


@login_required
@vary_on_headers("HX-Request")
def followup_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a follow-up on a customer: a page (phones: one tap from the customer page) or the
    content of the modal on the customer page (htmx)."""
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    if not can(actor, "create", FollowUp):
        raise Http404()
    target = fragment_target(request)
    modal = target == "followup-modal-content" or request.POST.get("modal") == "1"
    template = "activities/_followup_modal.html" if modal else "activities/followup_form.html"
    settings = config.followup_settings()
    context: dict[str, Any] = {
        "customer": customer,
        "modal": modal,
        "scripts": talkscript_list(actor=actor),
        "max_mb": settings.get("max_attachment_mb") or 10,
        "next_url": safe_next(request, reverse("customer_detail", args=[customer.pk])),
    }
    if request.method != "POST":
        now = timezone.now()
        days = int(settings.get("default_next_days") or 7)
        kinds = config.followup_kinds()
        initial = {
            "kind": request.GET.get("kind") or (kinds[0][0] if kinds else ""),
            "contact": request.GET.get("contact", ""),
            "at": _local_input(now),
            "next_follow_up_at": _local_input(
                (now + dt.timedelta(days=days)).replace(second=0, microsecond=0)
            ),
        }
        context["form"] = _followup_form(actor, customer, initial=initial)
        return render(request, template, context)
    form = _followup_form(actor, customer, data=request.POST)
    files = request.FILES.getlist("files")
    if form.is_valid():
        data = form.cleaned_data
        try:
            followup_create(
                actor=actor,
                customer=customer,
                kind=data["kind"],
                content=data["content"],
                at=data.get("at"),
                contact=data.get("contact"),
                next_action=data.get("next_action") or "",
                next_follow_up_at=data.get("next_follow_up_at"),
                location=data.get("location") or "",
                files=files,
                create_task=bool(data.get("create_task")),
            )
        except DomainError as exc:
            if exc.field == "files":
                context["file_error"] = exc.message
            else:
                form.add_domain_error(exc)
        else:
            messages.success(request, _("已记录跟进"))
            return redirect_htmx(request, context["next_url"])
    # The browser cannot keep chosen files across a round trip: say so next to the input.
    context["files_lost"] = bool(files)
    context["form"] = form
    return render(request, template, context, status=200 if target is not None else 400)


def _followup_filter_form(request: HttpRequest) -> FollowUpFilterForm:
    return followup_filter_form(request.user, request.GET)


@login_required
@vary_on_headers("HX-Request")
def followup_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", FollowUp):
        raise Http404()
    form = _followup_filter_form(request)
    filters = form.filters()
    try:
        page = followup_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = followup_list(actor=actor, filters={}, limit=PAGE_SIZE)
    customer_name = ""
    if filters.get("customer"):
        customer_name = followup_customer_choices(actor=actor, ids=[filters["customer"]]).get(
            int(filters["customer"]), ""
        )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "followups": page.items,
        "next_cursor": page.next,
        "query": query.urlencode(),
        "customer_name": customer_name,
        "kind_labels": dict(config.followup_kinds()),
        "nav_current": "followup_list",
    }
    target = fragment_target(request)
    if target == "followup-more":
        return render(request, "activities/_followup_rows.html", context)
    if target == "followup-results":
        return render(request, "activities/_followup_results.html", context)
    return render(request, "activities/followup_list.html", context)


@login_required
@require_POST
def followup_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    followup = get_or_404(followup_get, actor=actor, followup_id=pk)
    default = reverse("customer_detail", args=[followup.customer_id])
    try:
        followup_delete(actor=actor, followup=followup)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已把跟进记录移到回收站，可以在回收站恢复"))
    return redirect(safe_next(request, default))


@login_required
def followup_attachment_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A follow-up's attachment (or its thumbnail), only for those who may see the follow-up."""
    att = get_or_404(attachment_get, actor=request.user, attachment_id=pk)
    thumb = request.GET.get("thumb") == "1" and bool(att.thumbnail)
    stored = att.thumbnail if thumb else att.file
    try:
        handle = stored.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404() from exc
    content_type = "image/jpeg" if thumb else att.content_type
    inline = content_type.startswith("image/") or content_type == "application/pdf"
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=att.name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ----------------------------------------------------------------- my day


@login_required
def my_day_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    now = timezone.now()
    day = my_day(actor=actor, now=now)
    sections = [
        ("overdue", _("已逾期"), "danger", day.overdue_tasks, day.overdue_followups),
        ("today", _("今天"), "primary", day.today_tasks, day.today_followups),
        ("upcoming", _("接下来 7 天"), "secondary", day.upcoming_tasks, day.upcoming_followups),
    ]
    if day.undated_tasks:
        sections.append(("undated", _("没有截止时间的待办"), "secondary", day.undated_tasks, []))
    context = {
        "day": day,
        "sections": [
            {
                "sid": sid,
                "title": title,
                "tone": tone,
                "tasks": tasks,
                "followups": followups,
                "count": len(tasks) + len(followups),
            }
            for sid, title, tone, tasks, followups in sections
        ],
        "now": now,
        "can_followup": can(actor, "create", FollowUp),
        "can_task": can(actor, "create", Task),
        "nav_current": "my_day",
        "empty": not any(
            (
                day.overdue_tasks,
                day.today_tasks,
                day.upcoming_tasks,
                day.undated_tasks,
                day.overdue_followups,
                day.today_followups,
                day.upcoming_followups,
            )
        ),
    }
    return render(request, "activities/my_day.html", context)


# ----------------------------------------------------------------- tasks


@login_required
@vary_on_headers("HX-Request")
def task_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Task):
        raise Http404()
    form = task_filter_form(actor, request.GET)
    filters = form.filters()
    try:
        page = task_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=50
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = task_list(actor=actor, filters={"status": "open"}, limit=50)
    customer_name = ""
    if filters.get("customer"):
        customer_name = followup_customer_choices(actor=actor, ids=[filters["customer"]]).get(
            int(filters["customer"]), ""
        )
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "tasks": page.items,
        "next_cursor": page.next,
        "query": query.urlencode(),
        "customer_name": customer_name,
        "now": timezone.now(),
        "can_task": can(actor, "create", Task),
        "can_followup": can(actor, "create", FollowUp),
        "nav_current": "task_list",
    }
    target = fragment_target(request)
    if target == "task-more":
        return render(request, "activities/_task_rows.html", context)
    if target == "task-results":
        return render(request, "activities/_task_results.html", context)
    return render(request, "activities/task_list.html", context)


def _task_customer(actor: Any, value: Any) -> Any:
    if value in (None, ""):
        return None
    return get_or_404(customer_get, actor=actor, customer_id=value)


@login_required
def task_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "create", Task):
        raise Http404()
    users = task_assignee_choices(actor=actor)
    raw_customer = request.POST.get("customer") or request.GET.get("customer") or ""
    customer = _task_customer(actor, raw_customer) if str(raw_customer).isdigit() else None
    context: dict[str, Any] = {
        "creating": True,
        "customer": customer,
        "next_url": safe_next(request, reverse("task_list")),
    }
    if request.method != "POST":
        due = timezone.localtime().replace(hour=17, minute=0, second=0, microsecond=0)
        if due <= timezone.now():
            due += dt.timedelta(days=1)
        context["form"] = TaskForm(
            initial={
                "assignee": str(actor.pk),
                "customer": customer.pk if customer else "",
                "due_at": _local_input(due),
                "title": request.GET.get("title", "")[:200],
            },
            users=users,
        )
        return render(request, "activities/task_form.html", context)
    form = TaskForm(request.POST, users=users)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task = task_create(
                actor=actor,
                title=data["title"],
                assignee=data["assignee"],
                due_at=data.get("due_at"),
                customer=customer,
                notes=data.get("notes") or "",
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建待办「%s」") % task.title)
            return redirect(context["next_url"])
    context["form"] = form
    return render(request, "activities/task_form.html", context, status=400)


def _task_initial(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "due_at": _local_input(task.due_at) if task.due_at else "",
        "assignee": str(task.assignee_id),
        "notes": task.notes,
        "customer": task.customer_id or "",
        "version": task.version,
    }


@login_required
def task_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    task = get_or_404(task_get, actor=actor, task_id=pk)
    users = task_assignee_choices(actor=actor, include_ids=[task.assignee_id])
    context: dict[str, Any] = {
        "task": task,
        "customer": task.customer,
        "can_edit": can(actor, "edit", task),
        "next_url": safe_next(request, reverse("task_list")),
    }
    if request.method != "POST":
        context["form"] = TaskForm(initial=_task_initial(task), users=users)
        return render(request, "activities/task_form.html", context)
    form = TaskForm(request.POST, users=users)
    if form.is_valid():
        data = form.cleaned_data
        try:
            task_update(
                actor=actor,
                task=task,
                expected_version=data.get("version"),
                title=data["title"],
                due_at=data.get("due_at"),
                assignee=data["assignee"],
                notes=data.get("notes") or "",
            )
        except StaleVersion as exc:
            # Keep what the user typed; move the version on so a second save wins.
            fresh = get_or_404(task_get, actor=actor, task_id=pk)
            post = request.POST.copy()
            post["version"] = str(fresh.version)
            form = TaskForm(post, users=users)
            form.is_valid()
            form.add_error(None, exc.message)
            context["task"] = fresh
            context["theirs"] = fresh
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存待办"))
            return redirect(context["next_url"])
    context["form"] = form
    return render(request, "activities/task_form.html", context, status=400)


@login_required
@require_POST
def task_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    task = get_or_404(task_get, actor=actor, task_id=pk)
    done = request.POST.get("done", "1") != "0"
    error = ""
    try:
        task = task_set_done(actor=actor, task=task, done=done)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        error = exc.message
    if fragment_target(request) is not None:
        return render(
            request,
            "activities/_task_item.html",
            {
                "task": task,
                "error": error,
                "show_customer": request.POST.get("show_customer") == "1",
                "here": safe_next(request, reverse("my_day")),
                "can_followup": can(actor, "create", FollowUp),
            },
        )
    if error:
        messages.error(request, error)
    elif task.is_done:
        messages.success(request, _("已完成「%s」") % task.title)
    else:
        messages.success(request, _("已重新打开「%s」") % task.title)
    return redirect(safe_next(request, reverse("my_day")))


# ----------------------------------------------------------------- calendar feed


@login_required
def calendar_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if request.method == "POST":
        calendar_feed_get(actor=actor, regenerate=True)
        messages.success(request, _("已生成新的订阅地址，旧地址立即失效"))
        return redirect("calendar_settings")
    feed = calendar_feed_get(actor=actor)
    url = request.build_absolute_uri(reverse("calendar_feed", args=[feed.token]))
    webcal = "webcal://" + url.split("://", 1)[-1]
    return render(
        request,
        "activities/calendar_settings.html",
        {"feed": feed, "feed_url": url, "webcal_url": webcal},
    )


def calendar_feed_view(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed (no login: the secret token in the URL is the credential)."""
    try:
        body = calendar_feed_ics_unscoped(token)
    except NotFound as exc:
        raise Http404() from exc
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="crm.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# ----------------------------------------------------------------- administrators


@login_required
def talkscript_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    form = TalkScriptForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            script = talkscript_save(
                actor=actor,
                title=data["title"],
                body=data["body"],
                category=data.get("category") or "",
                is_active=bool(data.get("is_active")),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已添加话术「%s」") % script.title)
            return redirect("talkscript_list")
    context = {
        "form": form,
        "scripts": talkscript_list(actor=actor, active_only=False),
        "nav_current": "talkscript_list",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "activities/talkscript_list.html", context, status=status)


@login_required
def talkscript_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    script = get_or_404(talkscript_get, actor=actor, script_id=pk)
    if request.method == "POST" and request.POST.get("action") == "delete":
        try:
            talkscript_delete(actor=actor, script_id=script.pk)
        except NotFound as exc:
            raise Http404() from exc
        messages.success(request, _("已删除话术「%s」") % script.title)
        return redirect("talkscript_list")
    initial = {
        "title": script.title,
        "category": script.category,
        "body": script.body,
        "is_active": script.is_active,
    }
    form = TalkScriptForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            talkscript_save(
                actor=actor,
                script=script,
                title=data["title"],
                body=data["body"],
                category=data.get("category") or "",
                is_active=bool(data.get("is_active")),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存话术「%s」") % data["title"])
            return redirect("talkscript_list")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "activities/talkscript_form.html",
        {"form": form, "script": script, "nav_current": "talkscript_list"},
        status=status,
    )


@login_required
def activity_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    current = config.followup_settings()
    initial = {
        "kinds": ActivitySettingsForm.kinds_text(current.get("kinds") or []),
        "next_action_required": bool(current.get("next_action_required")),
        "manager_view": current.get("manager_view") or "live",
        "max_attachment_mb": current.get("max_attachment_mb") or 10,
    }
    form = ActivitySettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            followup_settings_update(
                actor=actor,
                kinds=form.kinds_list(),
                next_action_required=bool(data.get("next_action_required")),
                manager_view=data["manager_view"],
                max_attachment_mb=data["max_attachment_mb"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存跟进设置"))
            return redirect("activity_settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "activities/activity_settings.html",
        {
            "form": form,
            "builtin": [(k, str(v)) for k, v in config.BUILTIN_KINDS.items()],
            "nav_current": "activity_settings",
        },
        status=status,
    )
