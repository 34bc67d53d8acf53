"""Input validation for the opportunity and pipeline pages. The rules live in services.

Forms never read the database: the view passes in what a choice may name (pipelines,
stages, users, departments, custom field definitions, field states), loaded through
selectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.forms import (
    CustomFieldsMixin,
    DomainErrorFormMixin,
    FieldStatesMixin,
    ObjectChoiceField,
    custom_form_field,
    department_label,
    set_choices,
    user_label,
)
from crm.customfields.models import CustomFieldType
from crm.opportunities.models import ForecastCategory, OpportunityStatus, StageKind

SORT_CHOICES: list[tuple[str, Any]] = [
    ("-id", _("最新创建")),
    ("-amount", _("金额从高到低")),
    ("amount", _("金额从低到高")),
    ("expected_close_date", _("预计成交最早")),
    ("-expected_close_date", _("预计成交最晚")),
    ("-updated_at", _("最近修改")),
    ("stage_entered_at", _("阶段停留最久")),
]
ROLE_SUGGESTIONS = [
    _("决策人"),
    _("技术评估"),
    _("采购"),
    _("使用部门"),
    _("财务"),
    _("内部支持者"),
]
LOST_REASONS = [
    _("价格高于竞争对手"),
    _("客户预算取消"),
    _("需求不匹配"),
    _("选择了竞争对手"),
    _("项目延期"),
]


def _text(label: Any, *, required: bool = False, max_length: int = 200, **attrs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )


def _area(label: Any, *, max_length: int = 5000, rows: int = 3) -> Any:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": rows}),
    )


def _select(label: Any, choices: Any = (), **kwargs: Any) -> forms.ChoiceField:
    kwargs.setdefault("required", False)
    return forms.ChoiceField(
        label=label, choices=choices, widget=forms.Select(attrs={"class": "form-select"}), **kwargs
    )


def _money(label: Any) -> Any:
    return _text(label, max_length=30, inputmode="decimal", placeholder="0.00")


def _date(label: Any) -> Any:
    return _text(label, max_length=10, type="date")


def stage_choices(pipelines: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Stages grouped by pipeline (optgroups) for a <select>."""
    out: list[tuple[Any, Any]] = []
    for p in pipelines:
        out.append((p.name, [(str(s.pk), s.name) for s in getattr(p, "stage_rows", [])]))
    return out


# ----------------------------------------------------------------- list filters


class OpportunityFilterForm(CustomFieldsMixin, forms.Form):
    """The list's (and the kanban's) filters: an invalid value is dropped, never an error page."""

    KEYS = (
        "q",
        "pipeline",
        "stage",
        "owner",
        "department",
        "status",
        "close_month",
        "amount_min",
        "amount_max",
        "sort",
    )

    q = _text(_("搜索"), max_length=100, type="search", placeholder=_("商机或客户名称、拼音"))
    pipeline = _select(_("销售流程"))
    stage = _select(_("阶段"))
    owner = _select(_("负责人"))
    department = ObjectChoiceField(
        label=_("团队（部门含下级）"), required=False, empty_label=_("全部团队")
    )
    status = _select(_("状态"), [("", _("全部")), *OpportunityStatus.choices])
    close_month = _text(_("预计成交月份"), max_length=7, type="month", placeholder="2027-03")
    amount_min = _text(_("金额不低于"), max_length=20, inputmode="decimal", placeholder="0")
    amount_max = _text(_("金额不高于"), max_length=20, inputmode="decimal")
    sort = _select(_("排序"), SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        pipelines: Iterable[Any] = (),
        users: Iterable[Any] = (),
        departments: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        pipelines = list(pipelines)
        set_choices(
            self, "pipeline", [("", _("全部流程")), *[(str(p.pk), p.name) for p in pipelines]]
        )
        set_choices(self, "stage", [("", _("全部阶段")), *stage_choices(pipelines)])
        set_choices(
            self,
            "owner",
            [
                ("", _("全部")),
                ("me", _("我负责的")),
                ("team", _("我和下属的")),
                *[(str(u.pk), user_label(u)) for u in users],
            ],
        )
        self.fields["department"].set_objects(departments, department_label)  # type: ignore[attr-defined]

    def clean_close_month(self) -> str:
        value = (self.cleaned_data.get("close_month") or "").strip()
        if value and not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
            raise forms.ValidationError(_("月份格式为 2027-03"))
        return value

    def _clean_amount(self, key: str) -> str:
        value = (self.cleaned_data.get(key) or "").replace(",", "").strip()
        if value:
            try:
                float(value)
            except ValueError as exc:
                raise forms.ValidationError(_("请输入数字")) from exc
        return value

    def clean_amount_min(self) -> str:
        return self._clean_amount("amount_min")

    def clean_amount_max(self) -> str:
        return self._clean_amount("amount_max")

    def filters(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out: dict[str, Any] = {}
        for key in self.KEYS:
            value: Any = data.get(key)
            if hasattr(value, "pk"):
                value = value.pk
            if value not in (None, "", False):
                out[key] = value
        return out

    def active_count(self) -> int:
        return len([k for k in self.filters() if k not in ("sort", "q")])


# ----------------------------------------------------------------- create / edit

FORM_FIELDS = [
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "forecast_category",
    "competitors",
    "source",
    "notes",
]


class OpportunityForm(DomainErrorFormMixin, FieldStatesMixin, CustomFieldsMixin, forms.Form):
    """Create (customer, pipeline and stage chosen here) or edit an opportunity."""

    field_aliases = {"customer": "customer", "pipeline": "pipeline", "stage": "stage"}

    customer = forms.IntegerField(
        label=_("客户"), required=False, widget=forms.HiddenInput(attrs={"data-customer-id": ""})
    )
    name = _text(_("商机名称"), required=True, max_length=200, autocomplete="off")
    amount = _money(_("金额（元）"))
    currency = _text(_("币种"), max_length=3)
    expected_close_date = _date(_("预计成交日期"))
    pipeline = _select(_("销售流程"))
    stage = _select(_("阶段"))
    probability = forms.IntegerField(
        label=_("赢率（%）"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("留空则按阶段自动取值"),
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    forecast_category = _select(_("预测类别"), ForecastCategory.choices)
    competitors = _text(_("竞争对手"), max_length=300)
    source = _text(_("来源"), max_length=50, list="opportunity-sources")
    notes = _area(_("备注"))
    owner = ObjectChoiceField(label=_("负责人"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)

    def __init__(
        self,
        *args: Any,
        creating: bool,
        pipelines: Iterable[Any] = (),
        owners: Iterable[Any] = (),
        custom_defs: Iterable[Any] = (),
        users: Iterable[Any] = (),
        states: dict[str, dict[str, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        pipelines = list(pipelines)
        if creating:
            set_choices(self, "pipeline", [(str(p.pk), p.name) for p in pipelines])
            set_choices(self, "stage", [("", _("第一个阶段")), *stage_choices(pipelines)])
            self.fields["customer"].required = True
        else:
            for name in ("customer", "pipeline", "stage"):
                del self.fields[name]
        self.fields["owner"].set_objects(owners, user_label)  # type: ignore[attr-defined]
        self.add_custom_fields(custom_defs, users=users)
        self.apply_states(states or {})

    def clean_stage(self) -> str:
        return self.cleaned_data.get("stage") or ""

    def data_for_service(self) -> dict[str, Any]:
        data = self.enabled_data(FORM_FIELDS)
        if "probability" in data and data["probability"] == "":
            data["probability"] = None
        if self.creating:
            data["pipeline"] = self.cleaned_data.get("pipeline") or None
            data["stage"] = self.cleaned_data.get("stage") or None
        return data


class ContactRoleForm(forms.Form):
    contact = ObjectChoiceField(label=_("联系人"), required=True)
    role = _text(_("角色"), max_length=50, list="opportunity-roles", placeholder=_("如 决策人"))

    def __init__(self, *args: Any, contacts: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].set_objects(  # type: ignore[attr-defined]
            contacts, lambda c: " · ".join(p for p in (c.name, c.title) if p)
        )


# ----------------------------------------------------------------- the move form


class MoveForm(DomainErrorFormMixin, forms.Form):
    """Moving to a stage: the fields and checklist items the move still needs.

    Built from the service's refusal (its `errors`): each missing field becomes an input,
    each unticked item a checkbox, "lost_reason" a text; the user fills them and the same
    service is called again with the values.
    """

    stage = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)

    def __init__(
        self,
        *args: Any,
        missing: Iterable[str] = (),
        labels: dict[str, str] | None = None,
        items: dict[str, str] | None = None,
        custom_defs: Iterable[Any] = (),
        contacts: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        labels = labels or {}
        defs = {d.key: d for d in custom_defs}
        self.check_names: list[str] = []
        for key in missing:
            if key.startswith("checklist."):
                self.fields[key] = forms.BooleanField(
                    label=(items or {}).get(key, key),
                    required=False,
                    widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
                )
                self.check_names.append(key)
            elif key == "amount":
                self.fields[key] = _money(labels.get(key, _("金额")))
            elif key == "expected_close_date":
                self.fields[key] = _date(labels.get(key, _("预计成交日期")))
            elif key in ("competitors", "source"):
                self.fields[key] = _text(labels.get(key, key), max_length=300)
            elif key == "notes":
                self.fields[key] = _area(labels.get(key, key))
            elif key == "lost_reason":
                self.fields[key] = _text(
                    _("输单原因"), required=False, max_length=300, list="lost-reasons"
                )
            elif key == "contacts":
                field = ObjectChoiceField(label=_("联系人"), required=False, empty_label="—")
                field.set_objects(contacts, lambda c: " · ".join(p for p in (c.name, c.title) if p))
                self.fields["contact"] = field
                self.fields["contact_role"] = _text(
                    _("角色"), max_length=50, list="opportunity-roles", placeholder=_("如 决策人")
                )
            elif key.startswith("custom.") and key[7:] in defs:
                self.fields[key] = custom_form_field(defs[key[7:]])
        self.custom_defs = [
            defs[k[7:]] for k in missing if k.startswith("custom.") and k[7:] in defs
        ]
        self.field_aliases = {"contacts": "contact"}

    def value_fields(self) -> list[Any]:
        return [
            self[name]
            for name in self.fields
            if name not in ("stage", "version", "contact", "contact_role")
            and name not in self.check_names
        ]

    def check_fields(self) -> list[Any]:
        return [self[name] for name in self.check_names]

    def service_kwargs(self) -> dict[str, Any]:
        """data / custom / checklists / lost_reason for opportunity_move."""
        cd = self.cleaned_data
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        ticks: dict[int, list[int]] = {}
        for name in self.fields:
            if name in ("stage", "version", "contact_role", "lost_reason"):
                continue
            value = cd.get(name)
            if name.startswith("checklist."):
                if value:
                    _c, stage_id, index = name.split(".")
                    ticks.setdefault(int(stage_id), []).append(int(index))
            elif name.startswith("custom."):
                d = next((d for d in self.custom_defs if f"custom.{d.key}" == name), None)
                if d is not None and d.type == CustomFieldType.USER and value is not None:
                    value = value.pk
                if value not in (None, "", []):
                    custom[name[7:]] = value
            elif name == "contact":
                if value is not None:
                    data["contacts"] = [(value, cd.get("contact_role") or "")]
            elif value not in (None, ""):
                data[name] = value
        return {
            "data": data,
            "custom": custom or None,
            "checklists": ticks,
            "lost_reason": cd.get("lost_reason") or "",
        }


# ----------------------------------------------------------------- pipelines (administrators)


class PipelineForm(DomainErrorFormMixin, forms.Form):
    name = _text(_("流程名称"), required=True, max_length=50)
    description = _text(_("说明"), max_length=200)
    is_default = forms.BooleanField(
        label=_("设为默认流程"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class StageForm(DomainErrorFormMixin, forms.Form):
    name = _text(_("阶段名称"), required=True, max_length=50)
    kind = _select(_("类型"), StageKind.choices, required=True)
    probability = forms.IntegerField(
        label=_("赢率（%）"),
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    time_limit_days = forms.IntegerField(
        label=_("停留时限（天）"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("超过时限提醒负责人；留空表示不限"),
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("进入本阶段前必须填写"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    checklist = forms.CharField(
        label=_("检查清单"),
        required=False,
        max_length=2100,
        help_text=_("每行一项；离开本阶段（向前推进）前必须全部勾选"),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self, *args: Any, requirable: Iterable[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = list(requirable)
        # A stage may still name a field that was removed (a deactivated custom field).
        for key in self.initial.get("required_fields") or []:
            if key not in dict(choices):
                choices.append((key, key))
        self.fields["required_fields"].choices = choices  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        cd = self.cleaned_data
        return {
            "name": cd["name"],
            "kind": cd["kind"],
            "probability": cd["probability"],
            "time_limit_days": cd.get("time_limit_days"),
            "required_fields": list(cd.get("required_fields") or []),
            "checklist": (cd.get("checklist") or "").splitlines(),
            "is_active": bool(cd.get("is_active")),
        }
