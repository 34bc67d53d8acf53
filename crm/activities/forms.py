"""Input parsing for the follow-up, task and settings pages. The rules live in services.

Forms never read the database: the view passes in the choices (contacts, users, kinds)
loaded through selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.forms import DomainErrorFormMixin

DT_FORMAT = "%Y-%m-%dT%H:%M"


def _dt_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "form-control"}, format=DT_FORMAT
    )


class ObjectChoiceField(forms.ChoiceField):
    """A <select> over objects the view loaded through a selector; cleans to the object."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Select(attrs={"class": "form-select"}))
        super().__init__(**kwargs)
        self.by_key: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Any = str, empty: Any = None) -> None:
        self.by_key = {str(o.pk): o for o in objects}
        choices = [(k, label(o)) for k, o in self.by_key.items()]
        self.choices = ([("", empty)] if empty is not None else []) + choices

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return self.by_key.get(str(value)) if value not in ("", None) else None


class FollowUpForm(DomainErrorFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("跟进方式"), widget=forms.Select(attrs={"class": "form-select"})
    )
    content = forms.CharField(
        label=_("跟进内容"),
        max_length=5000,
        widget=forms.Textarea(
            attrs={
                "class": "form-control",
                "rows": 5,
                "placeholder": _("聊了什么、客户的反馈、需求和顾虑…"),
                "data-talkscript-target": "1",
            }
        ),
    )
    contact = ObjectChoiceField(label=_("联系人"), required=False)
    at = forms.DateTimeField(
        label=_("跟进时间"),
        required=False,
        widget=_dt_widget(),
        input_formats=[DT_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=_("默认是现在，可以补录过去的跟进"),
    )
    next_action = forms.CharField(
        label=_("下一步"),
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("例如：周五前发报价单")}
        ),
    )
    next_follow_up_at = forms.DateTimeField(
        label=_("下次跟进时间"),
        required=False,
        widget=_dt_widget(),
        input_formats=[DT_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
    )
    create_task = forms.BooleanField(
        label=_("同时创建待办（按下一步和下次跟进时间）"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    location = forms.CharField(
        label=_("地点"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("例如：客户公司会议室")}
        ),
    )

    def __init__(
        self,
        *args: Any,
        kinds: list[tuple[str, Any]] = (),  # type: ignore[assignment]
        contacts: Iterable[Any] = (),
        next_action_required: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = list(kinds)
        contact = self.fields["contact"]
        assert isinstance(contact, ObjectChoiceField)
        contact.set_objects(
            contacts,
            label=lambda c: f"{c.name}（{c.title}）" if c.title else c.name,
            empty=_("（不指定）"),
        )
        if next_action_required:
            self.fields["next_action"].required = True


class FollowUpFilterForm(forms.Form):
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    author = forms.ChoiceField(
        label=_("跟进人"),
        required=False,
        choices=[("", _("全部")), ("me", _("我的"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    kind = forms.ChoiceField(
        label=_("方式"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    date_from = forms.DateField(
        label=_("从"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    date_to = forms.DateField(
        label=_("到"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, Any]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", _("全部")), *kinds]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        out: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            if value not in (None, ""):
                out[key] = value.isoformat() if hasattr(value, "isoformat") else value
        return out


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("open", _("未完成")), ("done", _("已完成")), ("all", _("全部"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    assignee = forms.ChoiceField(
        label=_("负责人"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, users: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [("", _("全部")), ("me", _("我的"))] + [
            (str(u.pk), u.name) for u in users
        ]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"status": "open"}
        out = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        out.setdefault("status", "open")
        return out


class TaskForm(DomainErrorFormMixin, forms.Form):
    title = forms.CharField(
        label=_("标题"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("要做什么")}),
    )
    due_at = forms.DateTimeField(
        label=_("截止时间"),
        required=False,
        widget=_dt_widget(),
        input_formats=[DT_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
    )
    assignee = ObjectChoiceField(label=_("负责人"))
    notes = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, users: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, ObjectChoiceField)
        assignee.set_objects(users, label=lambda u: u.name)


class TalkScriptForm(DomainErrorFormMixin, forms.Form):
    title = forms.CharField(
        label=_("标题"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    category = forms.CharField(
        label=_("分类"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("例如：开场白")}),
    )
    body = forms.CharField(
        label=_("内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 5}),
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class ActivitySettingsForm(DomainErrorFormMixin, forms.Form):
    kinds = forms.CharField(
        label=_("跟进方式"),
        widget=forms.Textarea(attrs={"class": "form-control font-monospace", "rows": 7}),
        help_text=_(
            "每行一种：代码 名称，例如「demo 产品演示」。代码只用字母、数字、下划线；"
            "内置方式的名称可以留空（自动翻译）。"
        ),
    )
    next_action_required = forms.BooleanField(
        label=_("下一步必填"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    manager_view = forms.ChoiceField(
        label=_("经理查看团队跟进"),
        choices=[("live", _("实时")), ("t+1", _("T+1（只看到昨天及以前）"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    max_attachment_mb = forms.IntegerField(
        label=_("单个附件上限（MB）"),
        min_value=1,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )

    @staticmethod
    def kinds_text(kinds: list[Any]) -> str:
        return "\n".join(f"{k} {label}".rstrip() for k, label in kinds)

    def kinds_list(self) -> list[list[str]]:
        out = []
        for line in (self.cleaned_data.get("kinds") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            key, _sep, label = line.partition(" ")
            out.append([key.strip(), label.strip()])
        return out
