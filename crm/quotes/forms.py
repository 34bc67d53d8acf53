"""Input parsing for the product, price-list, quote and settings pages. The rules (prices,
totals, transitions) live in crm.quotes.services; forms never read the database: the view
passes in the choices it loaded through selectors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from crm.activities.forms import ObjectChoiceField
from crm.customers.forms import DomainErrorFormMixin
from crm.quotes.models import QuoteStatus

TEXT = {"class": "form-control"}
NUMBER = {"class": "form-control", "inputmode": "decimal", "autocomplete": "off"}


class ProductForm(DomainErrorFormMixin, forms.Form):
    code = forms.CharField(label=_("产品编码"), max_length=50, widget=forms.TextInput(attrs=TEXT))
    name = forms.CharField(label=_("产品名称"), max_length=200, widget=forms.TextInput(attrs=TEXT))
    category = forms.CharField(
        label=_("产品分类"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={**TEXT, "list": "product-categories"}),
    )
    unit = forms.CharField(
        label=_("单位"), max_length=20, initial="台", widget=forms.TextInput(attrs=TEXT)
    )
    list_price = forms.CharField(
        label=_("标准价（元）"), max_length=30, widget=forms.TextInput(attrs=NUMBER)
    )
    tax_rate = forms.CharField(
        label=_("税率（%）"), max_length=10, initial="13", widget=forms.TextInput(attrs=NUMBER)
    )
    description = forms.CharField(
        label=_("描述"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 3}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ProductFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={**TEXT, "type": "search", "placeholder": _("编码、名称或分类")}
        ),
    )
    category = forms.ChoiceField(
        label=_("分类"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    active = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("1", _("在售")), ("0", _("已停售")), ("", _("全部"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, categories: list[str] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全部分类")), *[(c, c) for c in categories]]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"active": "1"}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class PriceListForm(DomainErrorFormMixin, forms.Form):
    name = forms.CharField(
        label=_("价格表名称"), max_length=100, widget=forms.TextInput(attrs=TEXT)
    )
    currency = forms.CharField(
        label=_("币种"), max_length=3, initial="CNY", widget=forms.TextInput(attrs=TEXT)
    )
    valid_from = forms.DateField(
        label=_("生效日期"),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    valid_until = forms.DateField(
        label=_("失效日期"),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    is_default = forms.BooleanField(
        label=_("默认价格表（新报价单默认使用）"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class PriceListItemForm(DomainErrorFormMixin, forms.Form):
    product = ObjectChoiceField(label=_("产品"))
    price = forms.CharField(
        label=_("价格（元）"), max_length=30, widget=forms.TextInput(attrs=NUMBER)
    )
    min_quantity = forms.CharField(
        label=_("起订量"), max_length=20, initial="1", widget=forms.TextInput(attrs=NUMBER)
    )

    def __init__(self, *args: Any, products: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["product"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(products, label=lambda p: f"{p.code} {p.name}", empty=_("选择产品"))


class OpportunityProductForm(DomainErrorFormMixin, forms.Form):
    product = ObjectChoiceField(label=_("产品"))
    quantity = forms.CharField(
        label=_("数量"), max_length=20, initial="1", widget=forms.TextInput(attrs=NUMBER)
    )
    unit_price = forms.CharField(
        label=_("单价（元）"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={**NUMBER, "placeholder": _("留空按价格表")}),
    )

    def __init__(self, *args: Any, products: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = self.fields["product"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(products, label=lambda p: f"{p.code} {p.name}", empty=_("选择产品"))


class OpportunityProductEditForm(DomainErrorFormMixin, forms.Form):
    quantity = forms.CharField(label=_("数量"), max_length=20, widget=forms.TextInput(attrs=NUMBER))
    unit_price = forms.CharField(
        label=_("单价（元）"), max_length=30, widget=forms.TextInput(attrs=NUMBER)
    )


class QuoteForm(DomainErrorFormMixin, forms.Form):
    """The quote's header. Its lines are parsed by `quote_lines_from_post`."""

    title = forms.CharField(label=_("报价标题"), max_length=200, widget=forms.TextInput(attrs=TEXT))
    contact = ObjectChoiceField(label=_("联系人"), required=False)
    price_list = ObjectChoiceField(label=_("价格表"), required=False)
    valid_until = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    discount_pct = forms.CharField(
        label=_("整单折扣（%）"),
        max_length=10,
        required=False,
        initial="0",
        widget=forms.TextInput(attrs=NUMBER),
    )
    tax_included = forms.TypedChoiceField(
        label=_("价格是否含税"),
        choices=[("1", _("含税价（税额已包含在单价中）")), ("0", _("不含税价（税额另加）"))],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    terms = forms.CharField(
        label=_("条款"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 5}),
    )
    notes = forms.CharField(
        label=_("备注（打印在报价单上）"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 2}),
    )
    note = forms.CharField(
        label=_("修订说明"),
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={**TEXT, "placeholder": _("例如：客户要求数控机床单价下调 5%")}
        ),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    field_aliases = {"lines": "__all__"}

    def __init__(
        self,
        *args: Any,
        contacts: list[Any] = (),  # type: ignore[assignment]
        price_lists: list[Any] = (),  # type: ignore[assignment]
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, ObjectChoiceField)
        contact.set_objects(
            contacts,
            label=lambda c: f"{c.name}（{c.title}）" if c.title else c.name,
            empty=_("（不指定）"),
        )
        price_list = self.fields["price_list"]
        assert isinstance(price_list, ObjectChoiceField)
        price_list.set_objects(price_lists, empty=_("（不使用价格表，按标准价）"))
        price_list.widget.attrs["data-quote-price-list"] = "1"

    def header(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data.get("title") or "",
            "contact": data.get("contact"),
            "price_list": data.get("price_list"),
            "valid_until": data.get("valid_until"),
            "discount_pct": data.get("discount_pct") or "0",
            "tax_included": bool(data.get("tax_included")),
            "terms": data.get("terms") or "",
            "notes": data.get("notes") or "",
        }


LINE_KEYS = (
    "id",
    "product",
    "name",
    "description",
    "unit",
    "quantity",
    "unit_price",
    "discount_pct",
    "tax_rate",
)


def quote_lines_from_post(post: QueryDict) -> list[dict[str, Any]]:
    """The editor's rows (`line_<key>` repeated once per row, in order). A row with neither a
    product nor a name nor a price is an empty row and is skipped."""
    columns = {key: post.getlist(f"line_{key}") for key in LINE_KEYS}
    count = max((len(v) for v in columns.values()), default=0)
    rows = []
    for i in range(min(count, 500)):
        row = {
            key: (values[i] if i < len(values) else "").strip() for key, values in columns.items()
        }
        if not (row["product"] or row["name"] or row["unit_price"]):
            continue
        rows.append(row)
    return rows


def line_errors(exc: Any, count: int) -> tuple[dict[int, dict[str, str]], list[str]]:
    """A service error on `lines.<i>.<field>` → ({i: {field: message}}, []), else the messages
    for the top of the form."""
    per_line: dict[int, dict[str, str]] = {}
    general: list[str] = []
    for err in exc.errors or [{"field": exc.field, "message": exc.message}]:
        name = str(err.get("field") or "")
        parts = name.split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < count:
            field = parts[2] if len(parts) > 2 else "name"
            per_line.setdefault(int(parts[1]), {})[field] = err.get("message") or exc.message
        elif name.startswith("lines"):
            general.append(err.get("message") or exc.message)
    return per_line, general


class QuoteStatusForm(forms.Form):
    status = forms.ChoiceField(choices=QuoteStatus.choices)
    version = forms.IntegerField(required=False)


class QuoteFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={**TEXT, "type": "search", "placeholder": _("报价单号、标题或客户")}
        ),
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), *QuoteStatus.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    owner = forms.ChoiceField(
        label=_("负责人"),
        required=False,
        choices=[("", _("全部可见")), ("me", _("我负责的"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class QuoteSettingsForm(DomainErrorFormMixin, forms.Form):
    number_prefix = forms.CharField(
        label=_("报价单号前缀"),
        max_length=10,
        help_text=_("报价单号形如 BJ-2026-000123：前缀-年份-流水号，流水号每年从 1 开始"),
        widget=forms.TextInput(attrs=TEXT),
    )
    default_validity_days = forms.IntegerField(
        label=_("默认有效天数"),
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs=TEXT),
    )
    default_tax_rate = forms.CharField(
        label=_("默认税率（%）"), max_length=10, widget=forms.TextInput(attrs=NUMBER)
    )
    tax_included = forms.BooleanField(
        label=_("新报价单默认按含税价"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    company_name = forms.CharField(
        label=_("公司名称（打印抬头）"),
        max_length=100,
        required=False,
        help_text=_("留空时使用组织架构最上层部门的名称"),
        widget=forms.TextInput(attrs=TEXT),
    )
    company_address = forms.CharField(
        label=_("公司地址"), max_length=200, required=False, widget=forms.TextInput(attrs=TEXT)
    )
    company_phone = forms.CharField(
        label=_("联系电话"), max_length=50, required=False, widget=forms.TextInput(attrs=TEXT)
    )
    company_email = forms.CharField(
        label=_("邮箱"), max_length=100, required=False, widget=forms.TextInput(attrs=TEXT)
    )
    company_website = forms.CharField(
        label=_("网址"), max_length=100, required=False, widget=forms.TextInput(attrs=TEXT)
    )
    bank_account = forms.CharField(
        label=_("开户行及账号"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={**TEXT, "rows": 2}),
    )
    default_terms = forms.CharField(
        label=_("默认条款"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={**TEXT, "rows": 6}),
    )
