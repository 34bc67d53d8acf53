"""Organisation, roles and personal settings pages: thin, over services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.forms import LoginForm, PasswordChangeForm, TokenForm
from crm.access.selectors import token_list
from crm.access.services import token_create, token_revoke, user_set_password
from crm.core.errors import DomainError, NotFound


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
