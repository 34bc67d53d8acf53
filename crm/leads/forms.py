"""Input validation for the lead pages, the rule and web-form administration and the public
web form. Rules live in services; forms never read the database (the view passes choices)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.forms import (
    CustomFieldsMixin,
    DomainErrorFormMixin,
    FieldStatesMixin,
    IdListField,
    ObjectChoiceField,
    _area,
    _select,
    _text,
    _version,
    department_label,
    user_label,
)
from crm.leads import config
from crm.leads.models import LeadStatus, RuleMatch, RuleStrategy

LEAD_FORM_FIELDS = [
    "name",
    "company",
    "mobile",
    "email",
    "phone",
    "wechat",
    "title",
    "source",
    "province",
    "city",
    "industry",
    "notes",
]
STATUS_FILTER_CHOICES: list[tuple[str, Any]] = [
    ("", _("全部状态")),
    ("open", _("未关闭")),
    *LeadStatus.choices,
]
SORT_CHOICES: list[tuple[str, Any]] = [
    ("-id", _("最新创建")),
    ("-updated_at", _("最近更新")),
    ("name", _("姓名 A→Z")),
    ("id", _("最早创建")),
]


class LeadForm(DomainErrorFormMixin, FieldStatesMixin, CustomFieldsMixin, forms.Form):
    """Create and edit. Creating asks only name and one channel; the rest folds away."""

    name = _text(_("姓名"), required=True, max_length=100, autocomplete="off", autofocus=True)
    company = _text(_("公司"), max_length=200, autocomplete="organization")
    mobile = _text(_("手机"), max_length=40, inputmode="tel", autocomplete="tel")
    email = _text(_("邮箱"), max_length=254, inputmode="email", autocomplete="email")
    phone = _text(_("电话"), max_length=40, inputmode="tel")
    wechat = _text(_("微信"), max_length=100)
    title = _text(_("职务"), max_length=100)
    source = _text(_("线索来源"), max_length=50, list="lead-sources")
    province = _text(_("省份"), max_length=20, list="province-list")
    city = _text(_("城市"), max_length=30)
    industry = _text(_("行业"), max_length=100)
    notes = _area(_("备注"), max_length=5000, rows=3)
    version = _version()
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # creating only: "me", "rules", or a user id (managers)
    assign = forms.ChoiceField(
        label=_("负责人"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(
        self,
        *args: Any,
        creating: bool = True,
        assignees: list[Any] | None = None,
        custom_defs: list[Any] | None = None,
        states: dict[str, dict[str, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        if creating:
            choices: list[tuple[str, Any]] = [
                ("me", _("我自己")),
                ("rules", _("按分配规则")),
            ]
            choices += [(str(u.pk), user_label(u)) for u in assignees or []]
            assign = self.fields["assign"]
            assert isinstance(assign, forms.ChoiceField)
            assign.choices = choices
            del self.fields["version"]
        else:
            del self.fields["assign"]
            del self.fields["confirm_duplicate"]
        self.add_custom_fields(custom_defs or [])
        if states:
            self.apply_states(states)

    def clean(self) -> dict:
        data = super().clean() or {}
        no_channel = not any(data.get(k) for k in ("mobile", "phone", "email", "wechat"))
        mobile = self.fields.get("mobile")
        if no_channel and not self.errors and mobile is not None and not mobile.disabled:
            self.add_error("mobile", _("请至少填写一种联系方式（手机、电话、邮箱或微信）"))
        return data

    def lead_data(self) -> dict[str, Any]:
        return self.enabled_data(LEAD_FORM_FIELDS)

    @property
    def main_fields(self) -> list[Any]:
        return [self[k] for k in ("name", "company", "mobile", "email") if k in self.fields]

    @property
    def more_fields(self) -> list[Any]:
        names = [k for k in LEAD_FORM_FIELDS[4:] if k in self.fields]
        return [self[k] for k in names]

    @staticmethod
    def initial_for(lead: Any, values: dict[str, Any]) -> dict[str, Any]:
        from crm.customers.normalize import phone_display

        initial = {k: values.get(k, "") for k in LEAD_FORM_FIELDS}
        for key in ("mobile", "phone"):
            if initial.get(key) and str(initial[key]).startswith("+"):
                initial[key] = phone_display(str(initial[key]))
        initial["version"] = lead.version
        return initial


class LeadFilterForm(forms.Form):
    q = _text(_("搜索"), max_length=100, placeholder=_("姓名、公司、手机、邮箱"), type="search")
    status = _select(_("状态"), STATUS_FILTER_CHOICES)
    source = _text(_("来源"), max_length=50, list="lead-sources")
    province = _text(_("省份"), max_length=20, list="province-list")
    owner = _select(_("负责人"))
    sort = _select(_("排序"), SORT_CHOICES)

    def __init__(self, *args: Any, owners: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", _("全部")), ("me", _("我负责的"))]
        if owners and len(owners) > 1:
            choices.append(("team", _("我和下属")))
        choices += [(str(u.pk), user_label(u)) for u in owners or []]
        field = self.fields["owner"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def active_count(self) -> int:
        return len([k for k in self.filters() if k not in ("q", "sort")])


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=LeadStatus.choices)
    reason = _text(_("原因"), max_length=200, list="disqualify-reasons")
    version = _version()


class AssignForm(forms.Form):
    owner = ObjectChoiceField(label=_("分配给"), required=True, empty_label=_("请选择"))
    reason = _text(_("说明（选填）"), max_length=200)

    def __init__(self, *args: Any, users: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(users or [], user_label)


class ReasonForm(forms.Form):
    reason = _text(_("原因"), required=True, max_length=200)


class NoteForm(forms.Form):
    text = _area(_("备注"), max_length=2000, rows=2)


class LeadBulkForm(forms.Form):
    ids = IdListField()
    action = forms.ChoiceField(
        label=_("批量操作"),
        choices=[("assign", _("分配给")), ("rules", _("按规则重新分配"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    owner = ObjectChoiceField(label=_("负责人"), required=False, empty_label=_("请选择"))

    def __init__(self, *args: Any, users: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(users or [], user_label)


# ----------------------------------------------------------------- conversion


class ConvertForm(DomainErrorFormMixin, forms.Form):
    """One screen: customer (new or existing), contact (new, existing or none), and an
    optional opportunity."""

    customer_mode = forms.ChoiceField(
        choices=[("new", _("新建")), ("link", _("关联已有客户"))],
        widget=forms.RadioSelect,
        initial="new",
    )
    customer_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    customer_name = _text(_("客户名称"), max_length=200)
    customer_industry = _text(_("行业"), max_length=100)
    customer_province = _text(_("省份"), max_length=20, list="province-list")
    customer_city = _text(_("城市"), max_length=30)
    contact_mode = forms.ChoiceField(
        choices=[
            ("new", _("新建")),
            ("link", _("选已有的")),
            ("none", _("不需要")),
        ],
        widget=forms.RadioSelect,
        initial="new",
    )
    contact_id = forms.IntegerField(required=False, min_value=1)
    contact_name = _text(_("联系人姓名"), max_length=100)
    contact_title = _text(_("职务"), max_length=100)
    contact_mobile = _text(_("手机"), max_length=40, inputmode="tel")
    contact_email = _text(_("邮箱"), max_length=254, inputmode="email")
    create_opportunity = forms.BooleanField(
        label=_("同时创建商机"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    opp_name = _text(_("商机名称"), max_length=200)
    opp_pipeline = ObjectChoiceField(label=_("销售流程"), required=False)
    opp_amount = _text(_("金额（元）"), max_length=20, inputmode="decimal")
    opp_close_date = _text(_("预计成交日期"), max_length=10, type="date")
    version = _version()
    field_aliases = {
        "name": "customer_name",
        "industry": "customer_industry",
        "province": "customer_province",
        "city": "customer_city",
        "contacts.0.mobile": "contact_mobile",
        "mobile": "contact_mobile",
        "email": "contact_email",
        "amount": "opp_amount",
        "expected_close_date": "opp_close_date",
        "pipeline": "opp_pipeline",
    }

    def __init__(self, *args: Any, pipelines: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["opp_pipeline"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(pipelines or [])

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("customer_mode") == "link" and not data.get("customer_id"):
            self.add_error(None, _("请选择要关联的客户"))
        if data.get("customer_mode") == "new" and not data.get("customer_name"):
            self.add_error("customer_name", _("请填写客户名称"))
        if data.get("contact_mode") == "link":
            if data.get("customer_mode") != "link":
                self.add_error("contact_mode", _("新建客户时没有已有联系人可关联"))
            elif not data.get("contact_id"):
                self.add_error("contact_id", _("请选择联系人"))
        if data.get("contact_mode") == "new" and not data.get("contact_name"):
            self.add_error("contact_name", _("请填写联系人姓名"))
        if data.get("create_opportunity") and not data.get("opp_name"):
            self.add_error("opp_name", _("请填写商机名称"))
        return data

    def customer_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["customer_name"],
            "industry": d["customer_industry"],
            "province": d["customer_province"],
            "city": d["customer_city"],
        }

    def contact_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "name": d["contact_name"],
            "title": d["contact_title"],
            "mobile": d["contact_mobile"],
            "email": d["contact_email"],
        }

    def opportunity_data(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        if not d.get("create_opportunity"):
            return None
        data: dict[str, Any] = {"name": d["opp_name"]}
        if d.get("opp_pipeline") is not None:
            data["pipeline"] = d["opp_pipeline"]
        if d.get("opp_amount"):
            data["amount"] = d["opp_amount"].replace(",", "").replace("¥", "")
        if d.get("opp_close_date"):
            data["expected_close_date"] = d["opp_close_date"]
        return data


# ----------------------------------------------------------------- administration


class RuleForm(DomainErrorFormMixin, forms.Form):
    name = _text(_("规则名称"), required=True, max_length=100)
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    match = _select(_("匹配条件"), RuleMatch.choices, required=True)
    values = _area(
        _("匹配值"),
        max_length=2000,
        rows=2,
        placeholder=_("多个值用逗号或顿号分隔，例如：上海、江苏、浙江、安徽"),
    )
    strategy = _select(_("分配方式"), RuleStrategy.choices, required=True)
    department = ObjectChoiceField(label=_("团队"), required=False, empty_label="—")
    user = ObjectChoiceField(label=_("指定负责人"), required=False, empty_label="—")

    def __init__(
        self,
        *args: Any,
        departments: list[Any] | None = None,
        users: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        dept = self.fields["department"]
        assert isinstance(dept, ObjectChoiceField)
        dept.set_objects(departments or [], department_label)
        user = self.fields["user"]
        assert isinstance(user, ObjectChoiceField)
        user.set_objects(users or [], user_label)
        self.fields["values"].help_text = _(
            "按地区：省份（上海、广东…）；按行业：包含即匹配（汽车 匹配 汽车零部件）；"
            "按来源：与线索来源相同"
        )

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "match": rule.match,
            "values": "、".join(rule.values or []),
            "strategy": rule.strategy,
            "department": rule.department_id,
            "user": rule.user_id,
        }


class RuleTestForm(forms.Form):
    province = _text(_("省份"), max_length=20, list="province-list")
    city = _text(_("城市"), max_length=30)
    industry = _text(_("行业"), max_length=100)
    source = _text(_("来源"), max_length=50, list="lead-sources")


class LeadSettingsForm(DomainErrorFormMixin, forms.Form):
    fallback_user = ObjectChoiceField(
        label=_("没有规则匹配时分给"), required=False, empty_label=_("线索池（不分配）")
    )
    rate_per_minute = forms.IntegerField(
        label=_("网页表单每个 IP 每分钟最多提交"),
        min_value=0,
        max_value=1000,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        help_text=_("0 表示不限制"),
    )

    def __init__(self, *args: Any, users: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["fallback_user"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(users or [], user_label)


class CaptureFormAdminForm(DomainErrorFormMixin, forms.Form):
    name = _text(_("表单名称"), required=True, max_length=100)
    source = _text(_("线索来源"), max_length=50, list="lead-sources")
    ask = forms.MultipleChoiceField(
        label=_("除姓名、手机和邮箱外，还要填写"),
        required=False,
        choices=config.CAPTURE_FIELDS,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    thank_you = _text(
        _("提交后提示"), max_length=200, placeholder=_("感谢您的咨询，我们会尽快与您联系。")
    )
    embed_origins = _area(
        _("允许嵌入的网站"),
        max_length=4000,
        rows=2,
        placeholder="https://www.example.com",
    )
    is_active = forms.BooleanField(
        label=_("启用"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["embed_origins"].help_text = _("每行一个网址；留空表示任何网站都可以嵌入此表单")

    @staticmethod
    def initial_for(form: Any) -> dict[str, Any]:
        return {
            "name": form.name,
            "source": form.source,
            "ask": list(form.fields or []),
            "thank_you": form.thank_you,
            "embed_origins": form.embed_origins,
            "is_active": form.is_active,
        }


class PublicLeadForm(forms.Form):
    """The public web form: every field has a maximum length; `website` is the honeypot
    (hidden from people, filled by bots)."""

    name = _text(_("姓名"), required=True, max_length=100, autocomplete="name")
    company = _text(_("公司"), max_length=200, autocomplete="organization")
    title = _text(_("职务"), max_length=100)
    mobile = _text(_("手机"), max_length=40, inputmode="tel", autocomplete="tel")
    email = _text(_("邮箱"), max_length=254, inputmode="email", autocomplete="email")
    phone = _text(_("电话"), max_length=40, inputmode="tel")
    wechat = _text(_("微信"), max_length=100)
    province = _text(_("省份"), max_length=20, list="province-list")
    city = _text(_("城市"), max_length=30)
    industry = _text(_("行业"), max_length=100)
    notes = _area(_("需求说明"), max_length=2000, rows=3)
    website = forms.CharField(
        label=_("网站"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, shown: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = {"name", "mobile", "email", "website", *(shown or [])}
        for key in list(self.fields):
            if key not in keep:
                del self.fields[key]

    def clean(self) -> dict:
        data = super().clean() or {}
        channels = [k for k in ("mobile", "email", "phone", "wechat") if k in self.fields]
        if not any(data.get(k) for k in channels) and not self.errors:
            self.add_error("mobile", _("请留下手机或邮箱，方便我们联系您"))
        return data

    @property
    def visible_fields_list(self) -> list[Any]:
        return [self[k] for k in self.fields if k != "website"]
