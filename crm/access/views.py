"""Organisation, roles and personal settings pages: thin, over services and selectors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import present
from crm.access.forms import (
    DepartmentForm,
    GrantRow,
    LoginForm,
    PasswordChangeForm,
    RoleForm,
    TokenForm,
    UserFilterForm,
    UserForm,
    UserPasswordResetForm,
    department_label,
    field_rules_parse,
    grant_rows_parse,
)
from crm.access.models import Action, Department, FieldAccess, Scope
from crm.access.registry import entity_list
from crm.access.selectors import (
    department_get,
    department_tree,
    role_field_rules,
    role_get,
    role_grants,
    role_list,
    token_list,
    user_choices,
    user_get,
    user_list,
)
from crm.access.services import (
    department_create,
    department_delete,
    department_update,
    field_rule_set,
    role_create,
    role_delete,
    role_grant_set,
    role_update,
    token_create,
    token_revoke,
    user_create,
    user_set_password,
    user_update,
)
from crm.access.visibility import can, is_admin
from crm.core.errors import DomainError, NotFound, StaleVersion
from crm.core.pagination import Page, paginate
from crm.core.viewutils import get_or_404


class CrmLoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


@login_required
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_password(
                actor=request.user,
                user=request.user,  # type: ignore[arg-type]
                password=form.cleaned_data["new_password"],
                old_password=form.cleaned_data["old_password"],
            )
        except DomainError as exc:
            form.add_error("new_password" if exc.field == "password" else exc.field, exc.message)
        else:
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            messages.success(request, _("密码已修改"))
            return redirect("my_settings")
    return render(request, "access/password_change.html", {"form": form})


@login_required
def my_settings_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access/my_settings.html",
        {"tokens": token_list(actor=request.user), "token_form": TokenForm()},
    )


@login_required
@require_POST
def token_create_view(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    new_value = None
    if form.is_valid():
        try:
            _token, new_value = token_create(actor=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_error("name", exc.message)
    return render(
        request,
        "access/my_settings.html",
        {"tokens": token_list(actor=request.user), "token_form": form, "new_token": new_value},
        status=200 if new_value else 400,
    )


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_revoke(actor=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("令牌「%s」已撤销") % token.name)
    return redirect("my_settings")


# ---------------------------------------------------------------- shared helpers


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrator pages: anyone else gets the same 404 as for a page that does not exist."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404()
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _is_fragment(request: HttpRequest) -> bool:
    """An htmx request for part of the page (a history restore needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _page(request: HttpRequest, qs: Any, *, ordering: tuple[str, ...], limit: int) -> Page:
    try:
        return paginate(
            qs, ordering=ordering, cursor=request.GET.get("cursor") or None, limit=limit
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return Page(items=[], next=None)


def _stale_message(form: Any, exc: StaleVersion, data: Any, fresh_initial: dict[str, Any]) -> Any:
    """Re-bind the user's input to the current version and say what the other person changed.

    Nothing typed is lost: the form keeps the user's values; saving again overwrites the other
    change on purpose, after the user has seen it.
    """
    data = data.copy()
    data["version"] = str(fresh_initial.get("version", ""))
    rebound = type(form)(data, **form.init_kwargs)
    rebound.is_valid()
    rebound.add_error(None, exc.message)
    rebound.conflicts = rebound.conflicts_with(fresh_initial)
    return rebound


# ---------------------------------------------------------------- organisation (everyone)


@login_required
@vary_on_headers("HX-Request")
def org_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Department):
        raise Http404()
    tree = department_tree(actor=actor)
    by_id = {str(d.pk): d for d in tree}
    current = by_id.get(request.GET.get("department", ""))
    q = request.GET.get("q", "").strip()[:100]
    show_inactive = request.GET.get("inactive") == "1"
    users = user_list(
        actor=actor,
        q=q,
        department_id=current.pk if current else None,
        active=None if show_inactive else True,
    )
    page = _page(request, users, ordering=("username",), limit=100)
    context = {
        "tree": tree,
        "tree_options": [(d, department_label(d)) for d in tree],
        "current": current,
        "q": q,
        "show_inactive": show_inactive,
        "page": page,
        "members": member_rows(actor, page.items),
        "can_manage": is_admin(actor),
    }
    if _is_fragment(request) and request.headers.get("HX-Target") == "org-body":
        return render(request, "access/_org_body.html", context)
    return render(request, "access/org.html", context)


def member_rows(actor: Any, users: list[Any]) -> list[dict[str, Any]]:
    """What the actor may read of each member (field security applies to names too)."""
    rows = []
    for u in users:
        shown = present(actor, u, ["username", "display_name"])
        rows.append(
            {
                "user": u,
                "username": shown.get("username") or "—",
                "name": shown.get("display_name") or shown.get("username") or "—",
            }
        )
    return rows


# ---------------------------------------------------------------- users (administrators)


@admin_required
@vary_on_headers("HX-Request")
def user_admin_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    tree = department_tree(actor=actor)
    form = UserFilterForm(request.GET or None, departments=tree)
    filters = form.filters()
    users = user_list(actor=actor, **filters)
    page = _page(request, users, ordering=("username",), limit=50)
    context = {
        "form": form,
        "page": page,
        "filtered": any(v not in ("", None) for v in filters.values()),
    }
    if _is_fragment(request) and request.headers.get("HX-Target") == "user-results":
        return render(request, "access/_user_admin_results.html", context)
    return render(request, "access/user_admin_list.html", context)


def _user_form(request: HttpRequest, *, creating: bool, user: Any = None, data: Any = None) -> Any:
    actor = request.user
    keep = [user.manager_id] if user is not None else []
    kwargs: dict[str, Any] = {
        "creating": creating,
        "departments": department_tree(actor=actor),
        "users": [u for u in user_choices(actor=actor, include_ids=keep) if u != user],
        "roles": list(role_list(actor=actor)),
    }
    if data is not None:
        form = UserForm(data, **kwargs)
    else:
        initial = UserForm.initial_for(user) if user is not None else {"is_active": True}
        form = UserForm(initial=initial, **kwargs)
    form.init_kwargs = kwargs
    return form


@admin_required
def user_admin_create_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = _user_form(request, creating=True)
        return render(request, "access/user_admin_form.html", {"form": form, "creating": True})
    form = _user_form(request, creating=True, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"] or None,
                display_name=data["display_name"],
                email=data["email"],
                mobile=data["mobile"],
                department=data["department"],
                manager=data["manager"],
                roles=data["roles"],
                is_active=data["is_active"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建用户「%s」") % user.name)
            return redirect("user_admin_list")
    return render(
        request, "access/user_admin_form.html", {"form": form, "creating": True}, status=400
    )


@admin_required
def user_admin_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_or_404(user_get, actor=request.user, user_id=user_id)
    context: dict[str, Any] = {"creating": False, "subject": user}
    if request.method != "POST":
        context["form"] = _user_form(request, creating=False, user=user)
        return render(request, "access/user_admin_form.html", context)
    form = _user_form(request, creating=False, user=user, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user_update(
                actor=request.user,
                user=user,
                expected_version=data["version"],
                display_name=data["display_name"],
                email=data["email"],
                mobile=data["mobile"],
                department=data["department"],
                manager=data["manager"],
                roles=data["roles"],
                is_active=data["is_active"],
            )
        except StaleVersion as exc:
            fresh = get_or_404(user_get, actor=request.user, user_id=user_id)
            form = _stale_message(form, exc, request.POST, UserForm.initial_for(fresh))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存用户「%s」") % user.name)
            return redirect("user_admin_list")
    # The service may have changed the object before refusing: show the stored record.
    context["subject"] = get_or_404(user_get, actor=request.user, user_id=user_id)
    context["form"] = form
    return render(request, "access/user_admin_form.html", context, status=400)


@admin_required
def user_admin_password_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_or_404(user_get, actor=request.user, user_id=user_id)
    if user.pk == request.user.pk:
        # One's own password needs the old one: that is the personal page.
        return redirect("password_change")
    form = UserPasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_password(
                actor=request.user, user=user, password=form.cleaned_data["new_password"]
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已为「%s」设置新密码，请把它安全地告诉对方") % user.name)
            return redirect("user_admin_list")
    status = 400 if form.is_bound else 200
    return render(
        request, "access/user_admin_password.html", {"form": form, "subject": user}, status=status
    )


@admin_required
@require_POST
def user_admin_active_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate or reactivate (a deactivated user cannot log in; nothing is deleted)."""
    user = get_or_404(user_get, actor=request.user, user_id=user_id)
    active = request.POST.get("active") == "1"
    version = request.POST.get("version", "")
    try:
        user_update(
            actor=request.user,
            user=user,
            expected_version=int(version) if version.isdigit() else None,
            is_active=active,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(request, _("已重新启用「%s」") % user.name)
        else:
            messages.success(request, _("已停用「%s」，其数据保留不变") % user.name)
    return redirect(_safe_next(request, "user_admin_list"))


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


# ---------------------------------------------------------------- departments (administrators)


@admin_required
def department_admin_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request, "access/department_admin_list.html", {"tree": department_tree(actor=request.user)}
    )


def _department_form(
    request: HttpRequest, *, creating: bool, dept: Any = None, data: Any = None, initial: Any = None
) -> Any:
    actor = request.user
    keep = [dept.manager_id] if dept is not None else []
    kwargs: dict[str, Any] = {
        "creating": creating,
        "departments": department_tree(actor=actor),
        "users": user_choices(actor=actor, include_ids=keep),
    }
    if data is not None:
        form = DepartmentForm(data, **kwargs)
    else:
        form = DepartmentForm(initial=initial, **kwargs)
    form.init_kwargs = kwargs
    return form


@admin_required
def department_admin_create_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        initial = {"parent": request.GET.get("parent", ""), "sort": 0}
        form = _department_form(request, creating=True, initial=initial)
        return render(
            request, "access/department_admin_form.html", {"form": form, "creating": True}
        )
    form = _department_form(request, creating=True, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            dept = department_create(
                actor=request.user,
                name=data["name"],
                parent=data["parent"],
                manager=data["manager"],
                sort=data["sort"] or 0,
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建部门「%s」") % dept.name)
            return redirect("department_admin_list")
    return render(
        request, "access/department_admin_form.html", {"form": form, "creating": True}, status=400
    )


@admin_required
def department_admin_edit_view(request: HttpRequest, department_id: int) -> HttpResponse:
    dept = get_or_404(department_get, actor=request.user, department_id=department_id)
    context: dict[str, Any] = {"creating": False, "subject": dept}
    if request.method != "POST":
        initial = DepartmentForm.initial_for(dept)
        context["form"] = _department_form(request, creating=False, dept=dept, initial=initial)
        return render(request, "access/department_admin_form.html", context)
    form = _department_form(request, creating=False, dept=dept, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            department_update(
                actor=request.user,
                department=dept,
                expected_version=data["version"],
                name=data["name"],
                parent=data["parent"],
                manager=data["manager"],
                sort=data["sort"] or 0,
                is_active=data["is_active"],
            )
        except StaleVersion as exc:
            fresh = get_or_404(department_get, actor=request.user, department_id=department_id)
            form = _stale_message(form, exc, request.POST, DepartmentForm.initial_for(fresh))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存部门「%s」") % dept.name)
            return redirect("department_admin_list")
    context["subject"] = get_or_404(department_get, actor=request.user, department_id=department_id)
    context["form"] = form
    return render(request, "access/department_admin_form.html", context, status=400)


@admin_required
@require_POST
def department_admin_delete_view(request: HttpRequest, department_id: int) -> HttpResponse:
    dept = get_or_404(department_get, actor=request.user, department_id=department_id)
    try:
        department_delete(actor=request.user, department=dept)
    except DomainError as exc:
        messages.error(
            request,
            _("无法删除「%(name)s」：%(reason)s") % {"name": dept.name, "reason": exc.message},
        )
    else:
        messages.success(request, _("已删除部门「%s」") % dept.name)
    return redirect("department_admin_list")


# ---------------------------------------------------------------- roles (administrators)


@admin_required
def role_admin_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "access/role_admin_list.html", {"roles": role_list(actor=request.user)})


@admin_required
def role_admin_create_view(request: HttpRequest) -> HttpResponse:
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = role_create(
                actor=request.user,
                code=data["code"],
                name=data["name"],
                description=data["description"],
                is_admin=data["is_admin"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建角色「%s」，现在为它设置权限") % role.name)
            return redirect("role_admin_grants", role_id=role.pk)
    status = 400 if form.is_bound else 200
    return render(
        request, "access/role_admin_form.html", {"form": form, "creating": True}, status=status
    )


@admin_required
def role_admin_edit_view(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_or_404(role_get, actor=request.user, role_id=role_id)
    context: dict[str, Any] = {"creating": False, "subject": role}
    if request.method != "POST":
        context["form"] = RoleForm(initial=RoleForm.initial_for(role))
        return render(request, "access/role_admin_form.html", context)
    form = RoleForm(request.POST)
    form.init_kwargs = {}
    if form.is_valid():
        data = form.cleaned_data
        try:
            role_update(
                actor=request.user,
                role=role,
                expected_version=data["version"],
                code=data["code"],
                name=data["name"],
                description=data["description"],
                is_admin=data["is_admin"],
            )
        except StaleVersion as exc:
            fresh = get_or_404(role_get, actor=request.user, role_id=role_id)
            form = _stale_message(form, exc, request.POST, RoleForm.initial_for(fresh))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存角色「%s」") % role.name)
            return redirect("role_admin_list")
    context["subject"] = get_or_404(role_get, actor=request.user, role_id=role_id)
    context["form"] = form
    return render(request, "access/role_admin_form.html", context, status=400)


@admin_required
@require_POST
def role_admin_delete_view(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_or_404(role_get, actor=request.user, role_id=role_id)
    try:
        role_delete(actor=request.user, role=role)
    except DomainError as exc:
        messages.error(
            request,
            _("无法删除「%(name)s」：%(reason)s") % {"name": role.name, "reason": exc.message},
        )
    else:
        messages.success(request, _("已删除角色「%s」") % role.name)
    return redirect("role_admin_list")


@admin_required
def role_admin_grants_view(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_or_404(role_get, actor=request.user, role_id=role_id)
    entities = entity_list()
    stored = role_grants(role=role)
    status = 200
    if request.method == "POST":
        rows = grant_rows_parse(request.POST, entities)
        saved = 0
        for row in rows:
            before = stored.get(row.entity.key)
            unchanged = (
                before.actions == row.actions
                and before.scope == row.scope
                and before.edit_scope == row.edit_scope
                if before is not None
                else not row.actions
            )
            if unchanged:
                continue
            try:
                role_grant_set(
                    actor=request.user,
                    role=role,
                    entity=row.entity.key,
                    actions=row.actions,
                    scope=row.scope,
                    edit_scope=row.edit_scope,
                )
            except DomainError as exc:
                row.error = exc.message
            else:
                saved += 1
        if not any(r.error for r in rows):
            if saved:
                messages.success(request, _("已保存「%s」的授权") % role.name)
            else:
                messages.info(request, _("没有改动"))
            return redirect("role_admin_grants", role_id=role.pk)
        status = 400
    else:
        rows = [
            GrantRow(entity=e, actions=list(g.actions), scope=g.scope, edit_scope=g.edit_scope)
            if (g := stored.get(e.key)) is not None
            else GrantRow(entity=e, actions=[], scope=Scope.NONE, edit_scope=Scope.NONE)
            for e in entities
        ]
    context = {
        "role": role,
        "rows": rows,
        "actions": Action.choices,
        "scopes": Scope.choices,
        "has_errors": any(r.error for r in rows),
    }
    return render(request, "access/role_admin_grants.html", context, status=status)


@admin_required
def role_admin_fields_view(request: HttpRequest, role_id: int) -> HttpResponse:
    role = get_or_404(role_get, actor=request.user, role_id=role_id)
    entities = [e for e in entity_list() if e.fields]
    stored = role_field_rules(role=role)
    chosen = dict(stored)
    errors: dict[tuple[str, str], str] = {}
    status = 200
    if request.method == "POST":
        submitted = field_rules_parse(request.POST, entities)
        saved = 0
        for key, access in submitted.items():
            chosen[key] = access
            if stored.get(key, FieldAccess.EDITABLE) == access:
                continue
            try:
                field_rule_set(
                    actor=request.user, role=role, entity=key[0], field=key[1], access=access
                )
            except DomainError as exc:
                errors[key] = exc.message
            else:
                saved += 1
        if not errors:
            if saved:
                messages.success(request, _("已保存「%s」的字段权限") % role.name)
            else:
                messages.info(request, _("没有改动"))
            return redirect("role_admin_fields", role_id=role.pk)
        status = 400
    groups = [
        {
            "entity": e,
            "fields": [
                {
                    "spec": spec,
                    "name": f"{e.key}.{spec.name}",
                    "access": chosen.get((e.key, spec.name), FieldAccess.EDITABLE),
                    "error": errors.get((e.key, spec.name), ""),
                }
                for spec in e.fields
            ],
        }
        for e in entities
    ]
    context = {"role": role, "groups": groups, "levels": FieldAccess.choices}
    return render(request, "access/role_admin_fields.html", context, status=status)
