"""Input of the reminder-rule and working-calendar pages (no database reads here).

A rule's parameter form is generated from its condition's defaults: integers become number
inputs, booleans checkboxes, lists comma-separated text; festivals are "2027-02-06 春节" lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PARAM_LABELS: dict[str, Any] = {
    "days": _("未跟进天数"),
    "high_value_levels": _("重要客户级别"),
    "high_value_amount": _("重要客户商机金额（元）"),
    "notify_manager": _("重要客户同时提醒上级"),
    "grace_hours": _("宽限小时数"),
    "days_ahead": _("提前天数"),
    "festivals": _("节日"),
    "hours_ahead": _("提前小时数"),
}
PARAM_HELP: dict[str, Any] = {
    "high_value_levels": _("多个级别用逗号分隔，如 A,B"),
    "festivals": _("每行一个：日期 名称，如 2027-02-06 春节"),
}


class DomainErrorsMixin:
    field_aliases: dict[str, str] = {}

    def add_domain_error(self, exc: Any) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for err in errors:
            name = str(err.get("field") or "")
            name = self.field_aliases.get(name, name)
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, err.get("message") or exc.message)  # type: ignore[attr-defined]


def _festivals_text(value: Any) -> str:
    lines = []
    for item in value or []:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            lines.append(f"{item[0]} {item[1]}")
    return "\n".join(lines)


def _param_field(key: str, default: Any) -> forms.Field:
    label = PARAM_LABELS.get(key, key)
    help_text = PARAM_HELP.get(key, "")
    if isinstance(default, bool):
        return forms.BooleanField(
            label=label,
            required=False,
            widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        )
    if isinstance(default, int):
        return forms.IntegerField(
            label=label,
            help_text=help_text,
            widget=forms.NumberInput(attrs={"class": "form-control", "step": "1"}),
        )
    if key == "festivals":
        return forms.CharField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.Textarea(attrs={"class": "form-control", "rows": 6}),
        )
    if isinstance(default, list):
        return forms.CharField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.TextInput(attrs={"class": "form-control"}),
        )
    return forms.CharField(
        label=label, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class RuleForm(DomainErrorsMixin, forms.Form):
    name = forms.CharField(
        label=_("名称"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, defaults: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.defaults = dict(defaults or {})
        for key, default in self.defaults.items():
            self.fields[f"p_{key}"] = _param_field(key, default)
        self.field_aliases = {f"params.{k}": f"p_{k}" for k in self.defaults}

    @staticmethod
    def initial_for(rule: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        params = {**defaults, **(rule.params or {})}
        initial: dict[str, Any] = {
            "name": rule.name,
            "is_active": rule.is_active,
            "version": rule.version,
        }
        for key, default in defaults.items():
            value = params.get(key)
            if key == "festivals":
                initial[f"p_{key}"] = _festivals_text(value)
            elif isinstance(default, list):
                initial[f"p_{key}"] = ", ".join(str(v) for v in value or [])
            else:
                initial[f"p_{key}"] = value
        return initial

    def param_fields(self) -> list[Any]:
        return [self[f"p_{k}"] for k in self.defaults]

    def clean_p_festivals(self) -> list[list[str]]:
        text = self.cleaned_data.get("p_festivals") or ""
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(None, 1)
            try:
                day = dt.date.fromisoformat(parts[0])
            except ValueError:
                day = None
            if day is None or len(parts) < 2 or not parts[1].strip():
                raise forms.ValidationError(
                    _("第 %(n)d 行“%(line)s”格式不对：应为 日期 名称，如 2027-02-06 春节"),
                    params={"n": number, "line": line},
                )
            out.append([day.isoformat(), parts[1].strip()])
        return out

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, default in self.defaults.items():
            value = self.cleaned_data.get(f"p_{key}")
            if key != "festivals" and isinstance(default, list):
                value = value or ""  # the service splits the comma-separated text
            out[key] = value
        return out


class RunForm(forms.Form):
    as_of = forms.DateTimeField(
        label=_("按此时间运行"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    dry_run = forms.BooleanField(
        label=_("只预览（不发送通知、不记为已提醒）"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    rules = forms.MultipleChoiceField(
        label=_("规则"),
        required=False,
        help_text=_("不选则运行所有已启用的规则。"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, rules: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["rules"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(r.key, r.name) for r in rules or []]

    @staticmethod
    def default_initial() -> dict[str, Any]:
        now = timezone.localtime().replace(second=0, microsecond=0)
        return {"as_of": now, "dry_run": True}


def _date_lines(text: str) -> list[str]:
    out = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            day = dt.date.fromisoformat(line)
        except ValueError as exc:
            raise forms.ValidationError(
                _("第 %(n)d 行“%(line)s”不是日期，请写成 2027-02-06"),
                params={"n": number, "line": line},
            ) from exc
        if day.isoformat() not in out:
            out.append(day.isoformat())
    return sorted(out)


class CalendarForm(forms.Form):
    work_start = forms.TimeField(
        label=_("上班时间"),
        widget=forms.TimeInput(attrs={"class": "form-control", "type": "time"}, format="%H:%M"),
    )
    work_end = forms.TimeField(
        label=_("下班时间"),
        widget=forms.TimeInput(attrs={"class": "form-control", "type": "time"}, format="%H:%M"),
    )
    weekend_off = forms.BooleanField(
        label=_("周六、周日休息"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    holidays = forms.CharField(
        label=_("节假日"),
        required=False,
        help_text=_("每行一个日期，如 2027-02-06；这些日期不发送提醒。"),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 8}),
    )
    workdays = forms.CharField(
        label=_("调休上班日"),
        required=False,
        help_text=_("每行一个日期：因调休需要上班的周末。"),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_holidays(self) -> list[str]:
        return _date_lines(self.cleaned_data.get("holidays") or "")

    def clean_workdays(self) -> list[str]:
        return _date_lines(self.cleaned_data.get("workdays") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("work_start"), data.get("work_end")
        if start and end and start >= end:
            self.add_error("work_end", _("下班时间应晚于上班时间"))
        return data

    def value(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "work_start": d["work_start"].strftime("%H:%M"),
            "work_end": d["work_end"].strftime("%H:%M"),
            "weekend_off": bool(d.get("weekend_off")),
            "holidays": d.get("holidays") or [],
            "workdays": d.get("workdays") or [],
        }

    @staticmethod
    def initial_for(cal: dict[str, Any], version: int) -> dict[str, Any]:
        return {
            "work_start": cal.get("work_start"),
            "work_end": cal.get("work_end"),
            "weekend_off": cal.get("weekend_off", True),
            "holidays": "\n".join(cal.get("holidays") or []),
            "workdays": "\n".join(cal.get("workdays") or []),
            "version": version,
        }
