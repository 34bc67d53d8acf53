"""Input of the notification preference and group-robot pages (no database reads here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.notifications.models import Channel, RobotProvider

# In-app is always on; these are the channels a user may add per kind.
OPTIONAL_CHANNELS = [
    (Channel.EMAIL.value, Channel.EMAIL.label),
    (Channel.WECOM.value, Channel.WECOM.label),
    (Channel.DINGTALK.value, Channel.DINGTALK.label),
]


class DomainErrorsMixin:
    """A service's DomainError next to the field it names (or on top of the form)."""

    field_aliases: dict[str, str] = {}

    def add_domain_error(self, exc: Any) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for err in errors:
            name = str(err.get("field") or "")
            name = self.field_aliases.get(name, name)
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, err.get("message") or exc.message)  # type: ignore[attr-defined]


def _time_field(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        widget=forms.TimeInput(attrs={"class": "form-control", "type": "time"}, format="%H:%M"),
    )


class PreferencesForm(DomainErrorsMixin, forms.Form):
    """One multiple-choice field per notification kind (`kind_<key>`), plus quiet hours."""

    quiet_start = _time_field(_("免打扰开始"))
    quiet_end = _time_field(_("免打扰结束"))

    def __init__(self, *args: Any, kinds: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = list(kinds)
        for kind in self.kinds:
            self.fields[f"kind_{kind.key}"] = forms.MultipleChoiceField(
                label=kind.label,
                required=False,
                choices=OPTIONAL_CHANNELS,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
            )
        self.field_aliases = {f"prefs.{k.key}": f"kind_{k.key}" for k in self.kinds}
        self.field_aliases["quiet_start"] = "quiet_start"

    def kind_rows(self) -> list[dict[str, Any]]:
        return [{"kind": k, "field": self[f"kind_{k.key}"]} for k in self.kinds]

    def prefs(self) -> dict[str, list[str]]:
        return {k.key: list(self.cleaned_data.get(f"kind_{k.key}") or []) for k in self.kinds}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if (start is None) != (end is None) and not self.errors:
            self.add_error(
                "quiet_end" if end is None else "quiet_start",
                _("免打扰需要同时设置开始和结束时间"),
            )
        return data


class RobotForm(DomainErrorsMixin, forms.Form):
    department = forms.ChoiceField(
        label=_("部门"), widget=forms.Select(attrs={"class": "form-select"})
    )
    provider = forms.ChoiceField(
        label=_("类型"),
        choices=RobotProvider.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    name = forms.CharField(
        label=_("名称"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    url = forms.CharField(
        label=_("Webhook 地址"),
        max_length=500,
        widget=forms.URLInput(
            attrs={"class": "form-control", "placeholder": "https://", "inputmode": "url"}
        ),
        help_text=_("在群设置 → 群机器人 → 添加机器人后复制的 Webhook 地址。"),
    )
    secret = forms.CharField(
        label=_("加签密钥（钉钉）"),
        required=False,
        max_length=200,
        strip=True,
        # Write-only: never rendered back into the page.
        widget=forms.PasswordInput(
            attrs={"class": "form-control", "autocomplete": "new-password"}, render_value=False
        ),
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self, *args: Any, departments: Iterable[Any] = (), secret_set: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {str(d.pk): d for d in departments}
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [
            (key, "\u3000" * getattr(d, "depth", 0) + d.name) for key, d in self.departments.items()
        ]
        if secret_set:
            self.fields["secret"].help_text = _("已设置。留空则保持不变，填写则替换。")
        else:
            self.fields["secret"].help_text = _(
                "钉钉机器人安全设置选择“加签”时填写；企业微信不需要。"
            )

    def clean_department(self) -> Any:
        dept = self.departments.get(self.cleaned_data.get("department") or "")
        if dept is None:
            raise forms.ValidationError(_("请选择部门"))
        return dept
