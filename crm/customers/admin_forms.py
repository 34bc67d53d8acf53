"""Input validation for the pool, tag, custom field, settings and handover pages.

Forms never read the database: the view passes in the objects a choice may name (loaded
through selectors), and cleaning a choice returns that object. The rules live in services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customfields.models import CustomFieldType

INDENT = "\u3000"  # an ideographic space: tree depth inside a <select>

TAG_COLORS: list[tuple[str, Any]] = [
    ("blue", _("蓝")),
    ("azure", _("天蓝")),
    ("indigo", _("靛青")),
    ("purple", _("紫")),
    ("pink", _("粉")),
    ("red", _("红")),
    ("orange", _("橙")),
    ("yellow", _("黄")),
    ("lime", _("青柠")),
    ("green", _("绿")),
    ("teal", _("蓝绿")),
    ("cyan", _("青")),
]


def _text(
    label: Any, *, required: bool = False, max_length: int = 100, help_text: Any = "", **attrs: Any
) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )


def _select(label: Any, **kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, widget=forms.Select(attrs={"class": "form-select"}), **kwargs
    )


def _check(label: Any, **kwargs: Any) -> forms.BooleanField:
    return forms.BooleanField(
        label=label,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        **kwargs,
    )


def _days(label: Any, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=100000,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )


def user_label(user: Any) -> str:
    name = user.display_name or user.username
    dept = getattr(user, "department", None)
    if dept is not None:
        name = f"{name} · {dept.name}"
    if not user.is_active:
        name = f"{name}（{_('已停用')}）"
    return name


def tag_label(tag: Any) -> str:
    return INDENT * getattr(tag, "depth", 0) + tag.name


class ObjectChoiceField(forms.ChoiceField):
    """One of the given objects, chosen by id; cleans to the object (or None when empty)."""

    def __init__(self, *, empty_label: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Select(attrs={"class": "form-select"}))
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.objects: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Callable[[Any], str] = str) -> None:
        self.objects = {str(o.pk): o for o in objects}
        choices: list[tuple[str, Any]] = [(k, label(o)) for k, o in self.objects.items()]
        if self.empty_label is not None:
            choices.insert(0, ("", self.empty_label))
        self.choices = choices

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return self.objects.get(str(value)) if value not in (None, "") else None


class ObjectMultipleChoiceField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
        )
        super().__init__(**kwargs)
        self.objects: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Callable[[Any], str] = str) -> None:
        self.objects = {str(o.pk): o for o in objects}
        self.choices = [(k, label(o)) for k, o in self.objects.items()]

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return [self.objects[str(v)] for v in value]


class DomainErrorForm(forms.Form):
    """A form that can show a service's DomainError next to the field it names."""

    # Service field names that differ from the form's ("pool.claim_limit" → "claim_limit").
    field_aliases: dict[str, str] = {}

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        # Tabler draws the field red; the message itself sits under it (aria via the label).
        if field and field in self.fields:
            widget = self.fields[field].widget
            classes = widget.attrs.get("class", "")
            if "is-invalid" not in classes:
                widget.attrs["class"] = f"{classes} is-invalid".strip()

    def add_domain_error(self, exc: Any) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for err in errors:
            name = str(err.get("field") or "")
            name = self.field_aliases.get(name, name)
            if name.startswith("pool."):
                name = name[5:]
            target = name if name in self.fields else None
            self.add_error(target, err.get("message") or exc.message)


# ---------------------------------------------------------------- pool (公海)


class PoolFilterForm(forms.Form):
    q = _text(_("搜索"), placeholder=_("名称、拼音、电话"), type="search")
    level = _select(_("客户级别"), required=False)
    province = _text(_("省份"), max_length=20)
    city = _text(_("城市"), max_length=30)
    tag = ObjectChoiceField(label=_("标签（含下级）"), required=False, empty_label=_("全部标签"))

    def __init__(self, *args: Any, levels: list[str], tags: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        level: forms.ChoiceField = self.fields["level"]  # type: ignore[assignment]
        level.choices = [("", _("全部级别")), *[(v, v) for v in levels]]
        tag_field: ObjectChoiceField = self.fields["tag"]  # type: ignore[assignment]
        tag_field.set_objects(tags, tag_label)

    def filters(self) -> dict[str, Any]:
        """The selector's filters (only valid values; an invalid one is dropped)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        out: dict[str, Any] = {}
        for key in ("q", "level", "province", "city"):
            if data.get(key):
                out[key] = data[key]
        if data.get("tag") is not None:
            out["tag"] = data["tag"].pk
        return out


# ---------------------------------------------------------------- tags


class TagForm(DomainErrorForm):
    name = _text(
        _("标签名称"),
        required=True,
        max_length=200,
        help_text=_("用 / 分隔可一次建立多级，例如：行业/制造业/汽车零部件"),
    )
    parent = ObjectChoiceField(label=_("上级标签"), required=False, empty_label=_("（顶级）"))
    color = _select(_("颜色"), choices=TAG_COLORS, initial="blue")

    def __init__(self, *args: Any, tags: list[Any], editing: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent: ObjectChoiceField = self.fields["parent"]  # type: ignore[assignment]
        if editing is not None:
            # A tag cannot move under itself or its own descendants.
            tags = [t for t in tags if not t.path.startswith(editing.path)]
            self.fields["name"].help_text = ""
            self.fields["name"].max_length = 50  # type: ignore[attr-defined]
        parent.set_objects(tags, tag_label)


# ---------------------------------------------------------------- custom fields


class CustomFieldForm(DomainErrorForm):
    key = forms.CharField(
        label=_("字段键"),
        max_length=50,
        help_text=_(
            "以小写字母开头，只含小写字母、数字和下划线，例如 employee_count；创建后不能修改"
        ),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    label = _text(_("显示名称"), required=True)
    type = _select(_("类型"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("选项"),
        required=False,
        help_text=_("单选、多选字段的选项，每行一个"),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    help_text = _text(_("说明"), max_length=200)
    required_from = _select(
        _("从该状态起必填"),
        required=False,
        help_text=_("记录到达该状态后才要求填写；留空表示不强制"),
    )
    filterable = _check(_("可在列表中筛选"), initial=True)
    order = forms.IntegerField(
        label=_("排序"),
        required=False,
        initial=0,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    is_active = _check(_("启用"), initial=True)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)

    def __init__(
        self, *args: Any, statuses: list[tuple[str, Any]], creating: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        required_from: forms.ChoiceField = self.fields["required_from"]  # type: ignore[assignment]
        required_from.choices = [("", _("（不强制）")), *statuses]
        if not statuses:
            del self.fields["required_from"]
        if not creating:
            del self.fields["key"]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data.pop("key", None)
        data["choices"] = data.get("choices") or ""
        data["order"] = data.get("order") or 0
        return data


# ---------------------------------------------------------------- customer settings


class CustomerSettingsForm(DomainErrorForm):
    levels = forms.CharField(
        label=_("可选的客户级别"),
        help_text=_("每行一个，按从高到低的顺序；已使用的级别请勿删除"),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    completeness_fields = forms.MultipleChoiceField(
        label=_("信息完整率的关键字段"),
        required=False,
        help_text=_("每个客户的完整率 = 已填写的关键字段 / 关键字段总数；修改后在后台重新计算"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    enabled = _check(_("启用公海自动退回规则"))
    protection_days = _days(_("保护期（天）"), _("新领取或分配的客户在保护期内不会被退回"))
    no_follow_up_days = _days(_("未跟进天数"), _("超过该天数未跟进则退回公海；0 表示不按此规则"))
    no_won_days = _days(_("未成交天数"), _("拥有超过该天数仍未成交则退回公海；0 表示不按此规则"))
    claim_limit = _days(_("每人客户上限"), _("每位销售最多拥有的客户数；0 表示不限"))

    def __init__(self, *args: Any, completeness_choices: list[tuple[str, Any]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        fields: forms.MultipleChoiceField = self.fields["completeness_fields"]  # type: ignore[assignment]
        fields.choices = completeness_choices

    def level_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["levels"].splitlines() if line.strip()]

    def pool(self) -> dict[str, Any]:
        keys = ("enabled", "protection_days", "no_follow_up_days", "no_won_days", "claim_limit")
        return {k: self.cleaned_data[k] for k in keys}


class PoolPreviewForm(forms.Form):
    as_of = forms.DateTimeField(
        label=_("预览时间"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(
            attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )


# ---------------------------------------------------------------- handover


class HandoverForm(DomainErrorForm):
    from_user = ObjectChoiceField(label=_("交出人（离职人员）"), empty_label=_("请选择"))
    to_users = ObjectMultipleChoiceField(
        label=_("接收人"),
        help_text=_(
            "可选多人（电脑上按住 Ctrl 或 ⌘ 点选）：客户按名称顺序轮流分给各接收人，"
            "联系人随客户一起移交"
        ),
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )
    reason = _text(_("交接原因"), max_length=200, placeholder=_("例如：离职、调岗"))

    def __init__(self, *args: Any, users: list[Any], receivers: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        from_user: ObjectChoiceField = self.fields["from_user"]  # type: ignore[assignment]
        from_user.set_objects(users, user_label)
        to_users: ObjectMultipleChoiceField = self.fields["to_users"]  # type: ignore[assignment]
        to_users.set_objects(receivers, user_label)
