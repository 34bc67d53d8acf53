"""Input validation only: the rules live in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。注意区分大小写。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput, strip=False)
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, strip=False)
    new_password2 = forms.CharField(
        label=_("再次输入新密码"), widget=forms.PasswordInput, strip=False
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100)
