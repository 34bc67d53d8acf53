"""Input validation for the customer and contact pages. The rules live in services.

Forms never read the database: the view passes in what a choice may name (tags, users,
departments, custom field definitions, field states), loaded through selectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.models import ContactRole, CustomerStatus
from crm.customers.paste import paste_parse
from crm.customfields.models import CustomFieldType

INDENT = "\u3000"  # an ideographic space: tree depth inside a <select>

PROVINCES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
]

CUSTOMER_SORT_CHOICES: list[tuple[str, Any]] = [
    ("-id", _("最新创建")),
    ("-updated_at", _("最近修改")),
    ("name", _("名称 A→Z")),
    ("-name", _("名称 Z→A")),
    ("next_follow_up_at", _("下次跟进最早")),
    ("-last_follow_up_at", _("最近跟进")),
    ("-completeness", _("完整率从高到低")),
    ("completeness", _("完整率从低到高")),
    ("id", _("最早创建")),
]
CONTACT_SORT_CHOICES: list[tuple[str, Any]] = [
    ("-id", _("最新创建")),
    ("name", _("姓名 A→Z")),
    ("id", _("最早创建")),
]
RELEASE_REASONS = [
    _("客户暂无需求"),
    _("多次联系不上"),
    _("不在我的区域"),
    _("已转给同事跟进"),
]


def _text(label: Any, *, required: bool = False, max_length: int = 200, **attrs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )


def _area(label: Any, *, max_length: int = 5000, rows: int = 3, **attrs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": rows, **attrs}),
    )


def _select(label: Any, choices: Any = (), **kwargs: Any) -> forms.ChoiceField:
    kwargs.setdefault("required", False)
    return forms.ChoiceField(
        label=label, choices=choices, widget=forms.Select(attrs={"class": "form-select"}), **kwargs
    )


def _version() -> forms.IntegerField:
    return forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)


def user_label(user: Any) -> str:
    name = user.display_name or user.username
    dept = getattr(user, "department", None) if user.department_id else None
    return f"{name} · {dept.name}" if dept is not None else name


def tag_label(tag: Any) -> str:
    return INDENT * max(getattr(tag, "depth", 0), 0) + tag.name


def department_label(dept: Any) -> str:
    return INDENT * getattr(dept, "depth", 0) + dept.name


class ObjectChoiceField(forms.ChoiceField):
    """One of the given objects, chosen by id; cleans to the object (or None when empty)."""

    def __init__(self, *, empty_label: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Select(attrs={"class": "form-select"}))
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.by_key: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Callable[[Any], str] = str) -> None:
        self.by_key = {str(o.pk): o for o in objects}
        choices: list[tuple[str, Any]] = [(k, label(o)) for k, o in self.by_key.items()]
        if self.empty_label is not None:
            choices.insert(0, ("", self.empty_label))
        self.choices = choices

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return self.by_key.get(str(value)) if value not in (None, "") else None


class ObjectMultipleChoiceField(forms.MultipleChoiceField):
    """Several of the given objects, chosen by id; cleans to the list of objects."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.SelectMultiple(attrs={"class": "form-select"}))
        super().__init__(**kwargs)
        self.by_key: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Callable[[Any], str] = str) -> None:
        self.by_key = {str(o.pk): o for o in objects}
        self.choices = [(k, label(o)) for k, o in self.by_key.items()]

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return [self.by_key[str(v)] for v in value if v not in ("", None)]


def _display(field: Any, value: Any) -> str:
    """A value as the user reads it in this field (a choice's label, 是/否, or the text)."""
    labels = {str(k): str(v) for k, v in getattr(field, "choices", [])}
    if isinstance(value, list):
        keys = [str(getattr(v, "pk", v)) for v in value]
        return "、".join(labels.get(k, k) for k in keys) or "—"
    if value in (None, ""):
        return "—"
    key = str(getattr(value, "pk", value))
    return labels.get(key, key).strip(INDENT) if labels else key


class DomainErrorFormMixin:
    """A service's DomainError next to the field it names (or on top of the form); after a
    stale edit, what the stored record now says next to what the user typed."""

    field_aliases: dict[str, str] = {}
    # The constructor's keyword arguments, kept by the view so a form can be rebuilt.
    init_kwargs: dict[str, Any] = {}
    conflicts: list[dict[str, Any]] = []

    def conflicts_with(self, current: dict[str, Any]) -> list[dict[str, Any]]:
        cleaned = getattr(self, "cleaned_data", {})
        out = []
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if name == "version" or name not in current or name not in cleaned:
                continue
            mine = _display(field, cleaned[name])
            theirs = _display(field, current[name])
            if mine != theirs:
                out.append({"label": field.label, "theirs": theirs, "mine": mine})
        return out

    def add_domain_error(self, exc: Any) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for err in errors:
            name = str(err.get("field") or "")
            name = self.field_aliases.get(name, name)
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, err.get("message") or exc.message)  # type: ignore[attr-defined]


def set_choices(form: forms.Form, name: str, choices: list[tuple[str, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


# ----------------------------------------------------------------- custom fields


def custom_form_field(d: Any, *, users: Iterable[Any] = (), for_filter: bool = False) -> Any:
    """A form field for one custom field definition; the service validates the value by type."""
    label = d.label
    help_text = "" if for_filter else d.help_text
    t = d.type
    if t in (CustomFieldType.CHOICE, CustomFieldType.MULTICHOICE) and (
        for_filter or t == CustomFieldType.CHOICE
    ):
        return _select(
            label,
            [("", _("全部") if for_filter else "—")] + [(c, c) for c in d.choices],
            help_text=help_text,
        )
    if t == CustomFieldType.MULTICHOICE:
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            choices=[(c, c) for c in d.choices],
            help_text=help_text,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        )
    if t == CustomFieldType.BOOLEAN:
        empty = _("全部") if for_filter else "—"
        return _select(label, [("", empty), ("1", _("是")), ("0", _("否"))], help_text=help_text)
    if t == CustomFieldType.USER:
        field = ObjectChoiceField(
            label=label,
            required=False,
            empty_label=_("全部") if for_filter else "—",
            help_text=help_text,
        )
        field.set_objects(users, user_label)
        return field
    if t == CustomFieldType.DATE:
        return _text(label, max_length=10, type="date", help_text=help_text)
    if t in (CustomFieldType.NUMBER, CustomFieldType.MONEY):
        return _text(label, max_length=30, inputmode="decimal", help_text=help_text)
    if t == CustomFieldType.LONGTEXT and not for_filter:
        return _area(label, help_text=help_text)
    return _text(label, max_length=200, help_text=help_text)


def _custom_initial(d: Any, value: Any) -> Any:
    if value is None:
        return None
    if d.type == CustomFieldType.BOOLEAN:
        return "1" if value else "0"
    return value


class CustomFieldsMixin:
    """Adds `custom.<key>` fields; `custom_values()` returns {key: raw value} for the service."""

    custom_defs: list[Any] = []

    def add_custom_fields(
        self, defs: Iterable[Any], *, users: Iterable[Any] = (), for_filter: bool = False
    ) -> None:
        self.custom_defs = list(defs)
        users = list(users)
        fields: dict[str, Any] = self.fields  # type: ignore[attr-defined]
        for d in self.custom_defs:
            fields[f"custom.{d.key}"] = custom_form_field(d, users=users, for_filter=for_filter)

    def custom_bound_fields(self) -> list[Any]:
        return [self[f"custom.{d.key}"] for d in self.custom_defs]  # type: ignore[index]

    def custom_values(self) -> dict[str, Any]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        for d in self.custom_defs:
            value = data.get(f"custom.{d.key}")
            if d.type == CustomFieldType.USER:
                value = value.pk if value is not None else None
            out[d.key] = value
        return out

    @staticmethod
    def custom_initial(defs: Iterable[Any], values: dict[str, Any] | None) -> dict[str, Any]:
        values = values or {}
        return {f"custom.{d.key}": _custom_initial(d, values.get(d.key)) for d in defs}


class FieldStatesMixin:
    """Field-level security on a form: hidden fields go, masked and read-only ones are
    disabled (a disabled field keeps its initial value and is never sent to the service)."""

    def apply_states(self, states: dict[str, dict[str, bool]], prefix: str = "") -> None:
        for name, state in states.items():
            key = f"{prefix}{name}"
            if key not in self.fields:  # type: ignore[attr-defined]
                continue
            if state.get("hidden"):
                del self.fields[key]  # type: ignore[attr-defined]
            elif state.get("masked") or state.get("readonly"):
                self.fields[key].disabled = True  # type: ignore[attr-defined]

    def enabled_data(self, names: Iterable[str], prefix: str = "") -> dict[str, Any]:
        data = self.cleaned_data  # type: ignore[attr-defined]
        out: dict[str, Any] = {}
        for name in names:
            key = f"{prefix}{name}"
            field = self.fields.get(key)  # type: ignore[attr-defined]
            if field is None or field.disabled:
                continue
            value = data.get(key)
            out[name] = "" if value is None else value
        return out


# ----------------------------------------------------------------- customers

CUSTOMER_FORM_FIELDS = [
    "name",
    "credit_code",
    "industry",
    "level",
    "source",
    "status",
    "province",
    "city",
    "address",
    "website",
    "notes",
]
CONTACT_FORM_FIELDS = [
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "birthday",
    "role",
    "notes",
]
FIRST_CONTACT_FIELDS = ["name", "title", "mobile", "phone", "email", "wechat", "role"]


class CustomerForm(DomainErrorFormMixin, FieldStatesMixin, CustomFieldsMixin, forms.Form):
    """Create (with a first contact, tags and owner) or edit a customer."""

    field_aliases = {
        "mobile": "contact_mobile",
        "phone": "contact_phone",
        "email": "contact_email",
        "wechat": "contact_wechat",
        "title": "contact_title",
        "role": "contact_role",
        "contacts": "contact_name",
    }

    name = _text(_("客户名称"), required=True, autocomplete="organization")
    credit_code = _text(
        _("统一社会信用代码"),
        max_length=30,
        autocomplete="off",
        spellcheck="false",
        help_text=_("18 位，选填；填写后用于查重"),
    )
    industry = _text(_("行业"), max_length=100)
    level = _select(_("客户级别"))
    source = _select(_("客户来源"))
    status = _select(_("客户状态"), CustomerStatus.choices, initial=CustomerStatus.NEW)
    province = _text(_("省份"), max_length=20, list="province-list")
    city = _text(_("城市"), max_length=30)
    address = _text(_("详细地址"), max_length=300, autocomplete="street-address")
    website = _text(_("网址"), max_length=200, inputmode="url")
    notes = _area(_("备注"))
    tags = ObjectMultipleChoiceField(
        label=_("标签"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )
    owner = ObjectChoiceField(label=_("负责人"), required=False)
    contact_name = _text(_("联系人姓名"), max_length=100, autocomplete="name")
    contact_title = _text(_("职务"), max_length=100)
    contact_mobile = _text(_("手机"), max_length=40, type="tel", autocomplete="tel")
    contact_phone = _text(_("电话"), max_length=40, type="tel")
    contact_email = _text(_("邮箱"), max_length=254, type="email", autocomplete="email")
    contact_wechat = _text(_("微信"), max_length=100)
    contact_role = _select(_("角色"), ContactRole.choices, initial=ContactRole.OTHER)
    allow_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)
    version = _version()

    def __init__(
        self,
        *args: Any,
        creating: bool,
        levels: Iterable[str] = (),
        sources: Iterable[str] = (),
        tags: Iterable[Any] = (),
        owners: Iterable[Any] = (),
        custom_defs: Iterable[Any] = (),
        users: Iterable[Any] = (),
        states: dict[str, dict[str, bool]] | None = None,
        contact_states: dict[str, dict[str, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        levels = list(levels)
        current_level = (self.initial or {}).get("level") or ""
        if current_level and current_level not in levels:
            levels.append(current_level)  # a level an administrator has since removed
        set_choices(self, "level", [("", "—"), *[(lv, lv) for lv in levels]])
        sources = list(sources)
        current_source = (self.initial or {}).get("source") or ""
        if current_source and current_source not in sources:
            sources.append(current_source)
        set_choices(self, "source", [("", "—"), *[(s, s) for s in sources]])
        if creating:
            del self.fields["version"]
            self.fields["tags"].set_objects(tags, tag_label)  # type: ignore[attr-defined]
            owners = list(owners)
            if len(owners) > 1:
                self.fields["owner"].set_objects(owners, user_label)  # type: ignore[attr-defined]
            else:
                del self.fields["owner"]
            self.apply_states(contact_states or {}, prefix="contact_")
        else:
            for name in (
                "tags",
                "owner",
                "allow_duplicate",
                *[f"contact_{f}" for f in FIRST_CONTACT_FIELDS],
            ):
                del self.fields[name]
        self.add_custom_fields(custom_defs, users=users)
        self.apply_states(states or {})

    def clean(self) -> dict:
        data = super().clean() or {}
        channels = ("title", "mobile", "phone", "email", "wechat")
        has_channel = any(data.get(f"contact_{f}") for f in channels)
        if self.creating and has_channel and not data.get("contact_name"):
            self.add_error("contact_name", _("填写了联系方式时，请同时填写联系人姓名"))
        return data

    def customer_data(self) -> dict[str, Any]:
        return self.enabled_data(CUSTOMER_FORM_FIELDS)

    def contact_data(self) -> dict[str, Any]:
        data = self.enabled_data(FIRST_CONTACT_FIELDS, prefix="contact_")
        if not any(v for k, v in data.items() if k != "role"):
            return {}
        return data

    def contact_fields(self) -> list[Any]:
        return [self[f"contact_{f}"] for f in FIRST_CONTACT_FIELDS if f"contact_{f}" in self.fields]

    @staticmethod
    def initial_for(customer: Any, values: dict[str, Any]) -> dict[str, Any]:
        """`values`: the customer through field security (masked values stay masked)."""
        initial = {name: values.get(name, "") for name in CUSTOMER_FORM_FIELDS}
        initial["version"] = customer.version
        return initial


class QuickAddForm(DomainErrorFormMixin, forms.Form):
    """Name plus one way to reach them; a pasted signature fills the blanks."""

    paste = _area(
        _("粘贴名片/签名"),
        max_length=4000,
        rows=3,
        placeholder=_("把微信消息、邮件签名或名片文字粘贴到这里，自动识别电话、邮箱和公司"),
    )
    name = _text(_("客户名称"), required=True, autocomplete="organization", autofocus=True)
    contact_name = _text(_("联系人"), max_length=100, autocomplete="name")
    mobile = _text(_("手机"), max_length=40, type="tel", autocomplete="tel", inputmode="tel")
    phone = _text(_("电话"), max_length=40, type="tel", inputmode="tel")
    email = _text(_("邮箱"), max_length=254, type="email", autocomplete="email")
    wechat = _text(_("微信"), max_length=100)

    CHANNELS = ("mobile", "phone", "email", "wechat")

    def clean(self) -> dict:
        data = super().clean() or {}
        if self.errors:
            return data
        if not any((data.get(k) or "").strip() for k in self.CHANNELS):
            self.add_error("mobile", _("请至少填写一种联系方式（手机、电话、邮箱或微信）"))
        return data


def quick_add_prefill(data: Any) -> tuple[dict[str, Any], list[str]]:
    """The submitted quick-add data with the blanks filled from the pasted text.

    Returns the new data and the names of the fields that were filled, so the page can say so.
    """
    out = {
        k: data.get(k, "")
        for k in ("paste", "name", "contact_name", "mobile", "phone", "email", "wechat")
    }
    found = paste_parse(out["paste"] or "")
    mapping = {
        "name": found.company,
        "contact_name": found.name,
        "mobile": found.mobile,
        "phone": found.phone,
        "email": found.email,
        "wechat": found.wechat,
    }
    filled = []
    for key, value in mapping.items():
        if value and not (out.get(key) or "").strip():
            out[key] = value
            filled.append(key)
    return out, filled


class ReleaseForm(forms.Form):
    reason = _text(_("退回原因"), required=True, max_length=200, list="release-reasons")


class CollaborationRequestForm(forms.Form):
    reason = _text(
        _("说明（选填）"), max_length=300, placeholder=_("例如：客户主动联系了我，希望共同跟进")
    )


# ----------------------------------------------------------------- contacts


class ContactForm(DomainErrorFormMixin, FieldStatesMixin, CustomFieldsMixin, forms.Form):
    name = _text(_("姓名"), required=True, max_length=100, autocomplete="name")
    title = _text(_("职务"), max_length=100)
    mobile = _text(_("手机"), max_length=40, type="tel", autocomplete="tel", inputmode="tel")
    phone = _text(_("电话"), max_length=40, type="tel", inputmode="tel")
    email = _text(_("邮箱"), max_length=254, type="email", autocomplete="email")
    wechat = _text(_("微信"), max_length=100)
    birthday = _text(_("生日"), max_length=10, type="date")
    role = _select(_("角色"), ContactRole.choices, initial=ContactRole.OTHER)
    notes = _area(_("备注"))
    version = _version()

    def __init__(
        self,
        *args: Any,
        creating: bool,
        custom_defs: Iterable[Any] = (),
        users: Iterable[Any] = (),
        states: dict[str, dict[str, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["version"]
        self.add_custom_fields(custom_defs, users=users)
        self.apply_states(states or {})

    def contact_data(self) -> dict[str, Any]:
        return self.enabled_data(CONTACT_FORM_FIELDS)

    @staticmethod
    def initial_for(contact: Any, values: dict[str, Any]) -> dict[str, Any]:
        initial = {name: values.get(name, "") for name in CONTACT_FORM_FIELDS}
        # Show what was typed (138 1234 5678), not the E.164 form, unless the value is masked.
        for key in ("mobile", "phone"):
            if values.get(key) == getattr(contact, key) and getattr(contact, f"{key}_raw", ""):
                initial[key] = getattr(contact, f"{key}_raw")
        birthday = values.get("birthday")
        initial["birthday"] = birthday.isoformat() if birthday else ""
        initial["version"] = contact.version
        return initial


# ----------------------------------------------------------------- lists


class _ListFilterForm(CustomFieldsMixin, forms.Form):
    """A list's filters: an invalid value is dropped rather than failing the page."""

    KEYS: tuple[str, ...] = ()

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
        for d in self.custom_defs:
            custom: Any = data.get(f"custom.{d.key}")
            if hasattr(custom, "pk"):
                custom = custom.pk
            if custom not in (None, ""):
                out[f"custom.{d.key}"] = custom
        return out

    def active_count(self) -> int:
        return len([k for k in self.filters() if k not in ("sort", "q")])


class CustomerFilterForm(_ListFilterForm):
    KEYS = (
        "q",
        "owner",
        "department",
        "tag",
        "level",
        "status",
        "province",
        "city",
        "completeness_min",
        "completeness_max",
        "due",
        "sort",
    )

    q = _text(_("搜索"), max_length=100, type="search", placeholder=_("名称、拼音、电话尾号"))
    owner = _select(_("负责人"))
    department = ObjectChoiceField(
        label=_("部门（含下级）"), required=False, empty_label=_("全部部门")
    )
    tag = ObjectChoiceField(label=_("标签（含下级）"), required=False, empty_label=_("全部标签"))
    level = _select(_("级别"))
    status = _select(_("状态"), [("", _("全部")), *CustomerStatus.choices])
    province = _text(_("省份"), max_length=20, list="province-list")
    city = _text(_("城市"), max_length=30)
    completeness_min = forms.IntegerField(
        label=_("完整率不低于"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(
            attrs={"class": "form-control", "inputmode": "numeric", "placeholder": "0"}
        ),
    )
    completeness_max = forms.IntegerField(
        label=_("完整率不高于"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(
            attrs={"class": "form-control", "inputmode": "numeric", "placeholder": "100"}
        ),
    )
    due = forms.BooleanField(
        label=_("今天及逾期待跟进"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    sort = _select(_("排序"), CUSTOMER_SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        levels: Iterable[str] = (),
        users: Iterable[Any] = (),
        departments: Iterable[Any] = (),
        tags: Iterable[Any] = (),
        custom_defs: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        users = list(users)
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
        self.fields["tag"].set_objects(tags, tag_label)  # type: ignore[attr-defined]
        set_choices(self, "level", [("", _("全部")), *[(lv, lv) for lv in levels]])
        self.add_custom_fields(
            [d for d in custom_defs if d.filterable], users=users, for_filter=True
        )

    def filters(self) -> dict[str, Any]:
        out = super().filters()
        if out.get("due"):
            out["due"] = "1"
        return out


class ContactFilterForm(_ListFilterForm):
    KEYS = ("q", "owner", "department", "tag", "role", "sort")

    q = _text(_("搜索"), max_length=100, type="search", placeholder=_("姓名、拼音、电话、邮箱"))
    owner = _select(_("客户负责人"))
    department = ObjectChoiceField(
        label=_("部门（含下级）"), required=False, empty_label=_("全部部门")
    )
    tag = ObjectChoiceField(label=_("客户标签"), required=False, empty_label=_("全部标签"))
    role = _select(_("角色"), [("", _("全部")), *ContactRole.choices])
    sort = _select(_("排序"), CONTACT_SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        users: Iterable[Any] = (),
        departments: Iterable[Any] = (),
        tags: Iterable[Any] = (),
        custom_defs: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        users = list(users)
        set_choices(
            self,
            "owner",
            [
                ("", _("全部")),
                ("me", _("我负责的客户")),
                *[(str(u.pk), user_label(u)) for u in users],
            ],
        )
        self.fields["department"].set_objects(departments, department_label)  # type: ignore[attr-defined]
        self.fields["tag"].set_objects(tags, tag_label)  # type: ignore[attr-defined]
        self.add_custom_fields(
            [d for d in custom_defs if d.filterable], users=users, for_filter=True
        )


class IdListField(forms.Field):
    """Checked rows: a list of positive integers (at most 500 at a time)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        out = []
        for v in values:
            try:
                number = int(v)
            except (TypeError, ValueError) as exc:
                raise forms.ValidationError(_("勾选的记录无效")) from exc
            if number > 0:
                out.append(number)
        if len(out) > 500:
            raise forms.ValidationError(_("一次最多处理 500 条"))
        return list(dict.fromkeys(out))

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(_("请先勾选客户"))


class SelectAsList(forms.Select):
    """A one-choice <select> for a multiple-choice field (the bulk bar applies one tag)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getter = getattr(data, "getlist", None)
        return getter(name) if getter else data.get(name)


class CustomerBulkForm(DomainErrorFormMixin, forms.Form):
    ACTIONS: list[tuple[str, Any]] = [
        ("", _("批量操作…")),
        ("tag", _("添加标签")),
        ("untag", _("移除标签")),
        ("transfer", _("转移负责人")),
        ("release", _("退回公海")),
        ("delete", _("删除到回收站")),
    ]

    field_aliases = {"owner": "owner", "tags": "tags", "reason": "reason"}

    ids = IdListField(required=True)
    action = forms.ChoiceField(
        label=_("批量操作"), choices=ACTIONS, widget=forms.Select(attrs={"class": "form-select"})
    )
    tags = ObjectMultipleChoiceField(
        label=_("标签"), required=False, widget=SelectAsList(attrs={"class": "form-select"})
    )
    owner = ObjectChoiceField(label=_("新负责人"), required=False, empty_label=_("请选择"))
    reason = _text(_("退回原因"), max_length=200, list="release-reasons")

    def __init__(
        self, *args: Any, tags: Iterable[Any] = (), owners: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tags"].set_objects(tags, tag_label)  # type: ignore[attr-defined]
        tag_choices = list(self.fields["tags"].choices)  # type: ignore[attr-defined]
        set_choices(self, "tags", [("", _("选择标签…")), *tag_choices])
        self.fields["owner"].set_objects(owners, user_label)  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean() or {}
        action = data.get("action")
        if action in ("tag", "untag") and not data.get("tags"):
            self.add_error("tags", _("请选择标签"))
        if action == "transfer" and not data.get("owner"):
            self.add_error("owner", _("请选择新负责人"))
        if action == "release" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("请填写退回公海的原因"))
        if not action:
            self.add_error("action", _("请选择要执行的操作"))
        return data


class SavedViewForm(forms.Form):
    name = _text(_("视图名称"), required=True, max_length=100, placeholder=_("例如：华东 A 级客户"))
    entity = forms.ChoiceField(
        choices=[("customer", "customer"), ("contact", "contact")], widget=forms.HiddenInput
    )
    params = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class TimelineFilterForm(forms.Form):
    kind = forms.CharField(required=False, max_length=40)

    def kinds(self) -> list[str] | None:
        if not self.is_valid() or not self.cleaned_data.get("kind"):
            return None
        return [self.cleaned_data["kind"]]
