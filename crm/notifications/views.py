"""Notification pages: the header bell, the list, personal preferences, group robots and
failed deliveries (administrators). Thin: selectors read, services write."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.selectors import department_tree
from crm.access.visibility import is_admin
from crm.core.errors import DomainError
from crm.core.pagination import Page
from crm.core.viewutils import get_or_404, safe_next
from crm.notifications import channels, selectors, services
from crm.notifications.forms import OPTIONAL_CHANNELS, PreferencesForm, RobotForm
from crm.notifications.kinds import kind_list
from crm.notifications.models import Channel, RobotProvider

BELL_LATEST = 6


def _admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrator pages: anyone else gets the same 404 as for a page that does not exist."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404()
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _internal(url: str) -> bool:
    """Only site-relative paths are followed ("/x", never "//host" or "/\\host")."""
    return url.startswith("/") and not url.startswith(("//", "/\\"))


# ---------------------------------------------------------------- bell and list


@login_required
def notification_bell_view(request: HttpRequest) -> HttpResponse:
    """`?part=menu`: the dropdown's latest notifications; otherwise the badge (polled)."""
    count = selectors.notification_unread_count(actor=request.user)
    if request.GET.get("part") == "menu":
        page = selectors.notification_list(actor=request.user, limit=BELL_LATEST)
        return render(
            request,
            "notifications/_bell_menu.html",
            {"items": page.items, "unread": count, "next": request.GET.get("next") or ""},
        )
    return render(request, "notifications/_bell_badge.html", {"unread": count})


@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    tab = "unread" if request.GET.get("tab") == "unread" else "all"
    try:
        page = selectors.notification_list(
            actor=request.user,
            unread=tab == "unread",
            cursor=request.GET.get("cursor") or None,
            limit=30,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    base = reverse("notification_list") + ("?tab=unread" if tab == "unread" else "?tab=all")
    return render(
        request,
        "notifications/notification_list.html",
        {
            "tab": tab,
            "items": page.items,
            "next_url": f"{base}&cursor={page.next}" if page.next else "",
            "first_url": base if request.GET.get("cursor") else "",
            "unread": selectors.notification_unread_count(actor=request.user),
        },
    )


@login_required
def notification_open_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points (only within this site)."""
    notification = get_or_404(selectors.notification_get, actor=request.user, notification_id=pk)
    services.notifications_mark_read(actor=request.user, ids=[notification.pk])
    if notification.url and _internal(notification.url):
        return redirect(notification.url)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all_view(request: HttpRequest) -> HttpResponse:
    n = services.notifications_mark_read(actor=request.user, ids=None)
    if n:
        messages.success(request, _("已将 %(n)d 条通知标为已读。") % {"n": n})
    return redirect(safe_next(request, reverse("notification_list")))


# ---------------------------------------------------------------- personal preferences


@login_required
def notification_prefs_view(request: HttpRequest) -> HttpResponse:
    kinds = kind_list()
    if request.method == "POST":
        form = PreferencesForm(request.POST, kinds=kinds)
        if form.is_valid():
            try:
                services.preferences_set(
                    actor=request.user,
                    prefs=form.prefs(),
                    quiet_start=form.cleaned_data.get("quiet_start"),
                    quiet_end=form.cleaned_data.get("quiet_end"),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("通知设置已保存。"))
                return redirect("notification_prefs")
    else:
        prefs, quiet = selectors.preferences(actor=request.user)
        initial: dict[str, Any] = {
            f"kind_{k.key}": prefs.get(k.key, [c for c in k.default_channels if c != Channel.INAPP])
            for k in kinds
        }
        if quiet is not None:
            initial["quiet_start"] = quiet.start
            initial["quiet_end"] = quiet.end
        form = PreferencesForm(initial=initial, kinds=kinds)
    return render(
        request,
        "notifications/prefs.html",
        {"form": form, "channel_choices": OPTIONAL_CHANNELS},
    )


# ---------------------------------------------------------------- group robots (admins)


@_admin_required
def robot_list_view(request: HttpRequest) -> HttpResponse:
    robots = get_or_404(selectors.robot_list, actor=request.user)
    return render(request, "notifications/robot_list.html", {"robots": robots})


def _robot_test(robot: Any) -> str:
    """Send a test message through the robot; returns the error text ("" on success)."""
    title = _("测试消息")
    body = _("这是来自客户关系管理系统的测试消息：机器人「%(name)s」配置正确。") % {
        "name": robot.name
    }
    try:
        if robot.provider == RobotProvider.WECOM:
            channels.send_wecom(url=robot.url, title=title, body=body)
        else:
            channels.send_dingtalk(url=robot.url, secret=robot.secret or "", title=title, body=body)
    except channels.DeliveryError as exc:
        return str(exc) or type(exc).__name__
    return ""


@_admin_required
def robot_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """pk 0 adds a robot."""
    robot = get_or_404(selectors.robot_get, actor=request.user, robot_id=pk) if pk else None
    departments = department_tree(actor=request.user)
    secret_set = bool(robot and robot.secret)
    test_result: dict[str, Any] | None = None
    if request.method == "POST" and request.POST.get("action") == "test" and robot is not None:
        error = _robot_test(robot)
        test_result = {"ok": not error, "error": error}
        form = RobotForm(
            initial=_robot_initial(robot), departments=departments, secret_set=secret_set
        )
    elif request.method == "POST":
        form = RobotForm(request.POST, departments=departments, secret_set=secret_set)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.robot_save(
                    actor=request.user,
                    robot=robot,
                    department=data["department"],
                    provider=data["provider"],
                    name=data["name"],
                    url=data["url"],
                    secret=data.get("secret") or "",
                    is_active=bool(data.get("is_active")),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("机器人「%(name)s」已保存。") % {"name": saved.name})
                return redirect("robot_edit", pk=saved.pk)
    else:
        initial = _robot_initial(robot) if robot else {"is_active": True}
        form = RobotForm(initial=initial, departments=departments, secret_set=secret_set)
    return render(
        request,
        "notifications/robot_edit.html",
        {"robot": robot, "form": form, "secret_set": secret_set, "test_result": test_result},
    )


def _robot_initial(robot: Any) -> dict[str, Any]:
    return {
        "department": str(robot.department_id),
        "provider": robot.provider,
        "name": robot.name,
        "url": robot.url,
        "is_active": robot.is_active,
    }


# ---------------------------------------------------------------- delivery problems (admins)


@_admin_required
def delivery_problems_view(request: HttpRequest) -> HttpResponse:
    rows = get_or_404(selectors.delivery_problems, actor=request.user)
    return render(request, "notifications/delivery_problems.html", {"rows": rows})


@_admin_required
@require_POST
def delivery_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_or_404(services.delivery_retry, actor=request.user, delivery_id=pk)
    messages.success(request, _("已安排重新发送，一分钟内会再次尝试。"))
    return redirect("delivery_problems")
