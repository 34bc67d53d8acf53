"""Forms of the import wizard and the import settings (input validation only; the rules are
in crm.imports.services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.imports.config import RULES, SUFFIX_POLICIES
from crm.imports.models import MergeMode

NEW_CUSTOM = "__new__"


class DomainErrorsMixin:
    def add_domain_error(self, exc: Any) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for err in errors:
            name = str(err.get("field") or "").split(".", 1)[0]
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, err.get("message") or exc.message)  # type: ignore[attr-defined]


def _select(choices: Any = (), **kwargs: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=choices, widget=forms.Select(attrs={"class": "form-select"}), **kwargs
    )


class UploadForm(DomainErrorsMixin, forms.Form):
    entity = _select(label=_("导入什么"))
    file = forms.FileField(
        label=_("文件"),
        help_text=_("Excel (.xlsx)、CSV（UTF-8 或 GBK）或名片 (.vcf)；第一行是表头"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".xlsx,.csv,.tsv,.txt,.vcf"}
        ),
    )
    template = _select(
        label=_("映射模板"), required=False, help_text=_("按以前保存的列对应关系映射")
    )
    mode = forms.ChoiceField(
        label=_("已存在的记录"),
        choices=MergeMode.choices,
        initial=MergeMode.MERGE,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    migration = forms.CharField(
        label=_("迁移批次名称（可选）"),
        max_length=100,
        required=False,
        help_text=_("分阶段迁移时填写同一个名称（如「2026 旧系统迁移」），对账报告按它汇总"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(
        self, *args: Any, entities: list[Any], templates: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(a.key, a.label) for a in entities]  # type: ignore[attr-defined]
        self.fields["template"].choices = [("", _("自动识别"))] + [  # type: ignore[attr-defined]
            (
                str(t.pk),
                f"{t.name}（{dict((a.key, a.label) for a in entities).get(t.entity, t.entity)}）",
            )
            for t in templates
        ]


class MappingForm(DomainErrorsMixin, forms.Form):
    """One select per column of the file, plus the run options."""

    mode = forms.ChoiceField(
        label=_("已存在的记录"),
        choices=MergeMode.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    where = forms.CharField(
        label=_("只导入符合条件的行（分阶段迁移，可选）"),
        required=False,
        help_text=_(
            "每行一个条件，写成 字段=值，多个值用逗号分隔，例如：客户级别=A 或 省份=浙江,江苏"
        ),
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
    save_as = forms.CharField(
        label=_("保存为映射模板（可选）"),
        max_length=100,
        required=False,
        help_text=_("下次导入同样格式的文件时，可以直接选用"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    template_shared = forms.BooleanField(label=_("模板共享给所有人"), required=False)

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        groups: list[tuple[Any, list[tuple[str, Any]]]],
        allow_new: bool,
        allow_shared: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", _("— 不导入 —"))]
        choices += [(str(label), items) for label, items in groups if items]
        if allow_new:
            choices.append((str(_("其他")), [(NEW_CUSTOM, _("＋ 新建为自定义字段"))]))
        self.column_names: list[str] = []
        for i, header in enumerate(headers):
            name = f"col_{i}"
            self.fields[name] = _select(choices, label=header, required=False)
            self.column_names.append(name)
        if not allow_shared:
            del self.fields["template_shared"]

    def mapping(self) -> tuple[dict[str, str], dict[str, str]]:
        """(column index → field key, column index → new custom field label)."""
        mapping: dict[str, str] = {}
        new: dict[str, str] = {}
        for i, name in enumerate(self.column_names):
            value = self.cleaned_data.get(name) or ""
            if value == NEW_CUSTOM:
                new[str(i)] = str(self.fields[name].label)
                mapping[str(i)] = ""
            else:
                mapping[str(i)] = value
        return mapping, new

    def where_list(self) -> list[str]:
        return [
            line.strip()
            for line in (self.cleaned_data.get("where") or "").splitlines()
            if line.strip()
        ]


class ImportSettingsForm(DomainErrorsMixin, forms.Form):
    max_file_mb = forms.IntegerField(label=_("文件大小上限（MB）"), min_value=1, max_value=500)
    max_rows = forms.IntegerField(label=_("单次导入行数上限"), min_value=10, max_value=1_000_000)
    max_cell_chars = forms.IntegerField(
        label=_("单元格字符上限"),
        min_value=100,
        max_value=100_000,
        help_text=_("超过的单元格被拒绝（该行不导入），防止误把整篇文档粘进一格"),
    )
    fuzzy_threshold = forms.IntegerField(
        label=_("疑似重复的相似度阈值"),
        min_value=50,
        max_value=100,
        help_text=_("与已有客户的相似度达到该分数（0–100）时，该行不导入，列为疑似重复待核实"),
    )
    company_suffix = forms.ChoiceField(
        label=_("公司名称后缀"),
        choices=SUFFIX_POLICIES,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    extra_titles = forms.CharField(
        label=_("额外的称谓"),
        required=False,
        help_text=_("贵公司常用、需要从姓名中移出的称呼，用空格或逗号分隔，例如：工 会计 主管"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label, hint in RULES:
            self.fields[f"rule_{key}"] = forms.BooleanField(
                label=label, help_text=hint, required=False
            )
        for name in ("max_file_mb", "max_rows", "max_cell_chars", "fuzzy_threshold"):
            self.fields[name].widget.attrs["class"] = "form-control"

    def rule_fields(self) -> list[Any]:
        return [self[f"rule_{key}"] for key, _l, _h in RULES]

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "max_file_mb": d["max_file_mb"],
            "max_rows": d["max_rows"],
            "max_cell_chars": d["max_cell_chars"],
            "fuzzy_threshold": d["fuzzy_threshold"],
            "company_suffix": d["company_suffix"],
            "extra_titles": d.get("extra_titles") or "",
            "rules": {key: bool(d.get(f"rule_{key}")) for key, _l, _h in RULES},
        }
