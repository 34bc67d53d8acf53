"""Input validation for the contract and payment pages; the rules live in the services.

Forms never read the database: the view passes in the owners, instalments and field
states it loaded through selectors.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.contracts.models import ContractStatus
from crm.contracts.services import PAYMENT_METHODS
from crm.customers.forms import DomainErrorFormMixin, FieldStatesMixin, set_choices, user_label

CURRENCIES = [
    ("CNY", _("人民币 CNY")),
    ("USD", _("美元 USD")),
    ("EUR", _("欧元 EUR")),
    ("HKD", _("港币 HKD")),
]
CONTRACT_FORM_FIELDS = [
    "number",
    "name",
    "amount",
    "currency",
    "signed_on",
    "start_date",
    "end_date",
    "terms",
    "notes",
]


def _date_input(**attrs: Any) -> forms.DateInput:
    return forms.DateInput(
        attrs={"class": "form-control", "type": "date", **attrs}, format="%Y-%m-%d"
    )


def _version() -> forms.IntegerField:
    return forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)


class ContractForm(DomainErrorFormMixin, FieldStatesMixin, forms.Form):
    number = forms.CharField(
        label=_("合同编号"),
        required=False,
        max_length=50,
        help_text=_("留空则自动编号"),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    name = forms.CharField(
        label=_("合同名称"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    # Text, not a number field: people type 1,280,000 or 128万 (the service parses it).
    amount = forms.CharField(
        label=_("合同金额"),
        max_length=40,
        help_text=_("可以写 1280000、1,280,000.00 或 128万"),
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}
        ),
    )
    currency = forms.ChoiceField(
        label=_("币种"),
        choices=CURRENCIES,
        initial="CNY",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    signed_on = forms.DateField(label=_("签约日期"), required=False, widget=_date_input())
    start_date = forms.DateField(label=_("开始日期"), required=False, widget=_date_input())
    end_date = forms.DateField(label=_("结束日期"), required=False, widget=_date_input())
    terms = forms.CharField(
        label=_("主要条款"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        help_text=_("付款方式、交付、质保等要点"),
    )
    notes = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
    owner = forms.ChoiceField(
        label=_("负责人"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    version = _version()

    def __init__(
        self,
        *args: Any,
        owners: list[Any] | None = None,
        states: dict[str, dict[str, bool]] | None = None,
        editable: frozenset[str] | None = None,
        masked_amount: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._owners = {str(u.pk): u for u in owners or []}
        if len(self._owners) > 1:
            set_choices(self, "owner", [(k, user_label(u)) for k, u in self._owners.items()])
        else:
            del self.fields["owner"]
        self.apply_states(states or {})
        for f in self.fields.values():
            if f.disabled:
                f.lock_hint = _("您无权修改此字段")  # type: ignore[attr-defined]
        if "amount" in self.fields and masked_amount:
            self.initial["amount"] = "****"
            self.fields["amount"].help_text = ""
        # What the status no longer allows to change is shown, not editable.
        if editable is not None:
            for name, f in self.fields.items():
                if name != "version" and name not in editable and not f.disabled:
                    f.disabled = True
                    f.lock_hint = _("合同在当前状态下不能修改此项")  # type: ignore[attr-defined]
        for name in ("number", "amount"):
            if name in self.fields and self.fields[name].disabled:
                self.fields[name].help_text = ""

    def clean_owner(self) -> Any:
        value = self.cleaned_data.get("owner")
        if not value:
            return None
        if value not in self._owners:
            raise forms.ValidationError(_("请选择负责人"))
        return self._owners[value]

    def contract_data(self) -> dict[str, Any]:
        data = self.enabled_data(CONTRACT_FORM_FIELDS)
        if "owner" in self.fields and not self.fields["owner"].disabled:
            data["owner"] = self.cleaned_data.get("owner")
        return data


class ContractFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "class": "form-control",
                "type": "search",
                "placeholder": _("合同编号、名称或客户"),
            }
        ),
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), *ContractStatus.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    owner = forms.ChoiceField(
        label=_("负责人"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    signed = forms.CharField(
        label=_("签约月份"),
        required=False,
        max_length=7,
        widget=forms.TextInput(
            attrs={"class": "form-control", "type": "month", "placeholder": "2026-11"}
        ),
    )
    overdue = forms.BooleanField(
        label=_("有逾期回款"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, users: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self,
            "owner",
            [
                ("", _("全部")),
                ("me", _("我负责的")),
                ("team", _("我和下属")),
                *[(str(u.pk), user_label(u)) for u in users or []],
            ],
        )

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}

    def active_count(self) -> int:
        return len([k for k in self.filters() if k != "q"])


class PlanGenerateForm(DomainErrorFormMixin, forms.Form):
    count = forms.IntegerField(
        label=_("期数"),
        min_value=1,
        max_value=60,
        initial=3,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    first_due = forms.DateField(label=_("第一期日期"), widget=_date_input())
    months_between = forms.IntegerField(
        label=_("间隔（月）"),
        min_value=0,
        max_value=24,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    version = _version()


class PaymentForm(DomainErrorFormMixin, FieldStatesMixin, forms.Form):
    amount = forms.CharField(
        label=_("回款金额"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}
        ),
    )
    received_on = forms.DateField(label=_("回款日期"), widget=_date_input())
    plan = forms.ChoiceField(
        label=_("对应期次"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=_("不选则按到期先后自动冲抵"),
    )
    method = forms.ChoiceField(
        label=_("回款方式"),
        required=False,
        choices=[("", "—"), *[(m, m) for m in PAYMENT_METHODS]],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reference = forms.CharField(
        label=_("凭证号"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("银行流水号、票据号")}
        ),
    )
    notes = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(
        self, *args: Any, plans: list[tuple[str, Any]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "plan", [("", _("不指定期次")), *(plans or [])])
        if not plans:
            self.fields["plan"].widget = forms.HiddenInput()

    def payment_data(self) -> dict[str, Any]:
        return self.enabled_data(["amount", "received_on", "method", "reference", "notes"])


class TransitionForm(forms.Form):
    reason = forms.CharField(
        label=_("说明"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    version = _version()


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("上传附件"),
        widget=forms.ClearableFileInput(
            attrs={
                "class": "form-control",
                "accept": ".pdf,.jpg,.jpeg,.png,.webp,.doc,.docx,.xlsx,application/pdf,image/*",
            }
        ),
    )


class ContractSettingsForm(DomainErrorFormMixin, forms.Form):
    number_prefix = forms.CharField(
        label=_("编号前缀"),
        max_length=20,
        help_text=_("自动编号为「前缀-年份-流水号」，例如 HT-2026-0001"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    number_digits = forms.IntegerField(
        label=_("流水号位数"),
        min_value=3,
        max_value=8,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    max_attachment_mb = forms.IntegerField(
        label=_("附件大小上限（MB）"),
        min_value=1,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    due_soon_days = forms.IntegerField(
        label=_("「即将到期」天数"),
        min_value=1,
        max_value=365,
        help_text=_("回款页面把多少天内到期的期次列为即将到期"),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    version = _version()


def plan_rows_from_post(data: Any) -> list[dict[str, str]]:
    """The plan editor's rows (repeated due_date / amount / notes inputs), blank rows left
    out; the service validates each row and names it by its position."""
    dues = data.getlist("due_date")
    amounts = data.getlist("amount")
    notes = data.getlist("notes")
    rows = []
    for i in range(min(max(len(dues), len(amounts)), 200)):
        row = {
            "due_date": (dues[i] if i < len(dues) else "").strip(),
            "amount": (amounts[i] if i < len(amounts) else "").strip(),
            "notes": (notes[i] if i < len(notes) else "").strip(),
        }
        if any(row.values()):
            rows.append(row)
    return rows
