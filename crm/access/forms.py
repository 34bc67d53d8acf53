"""Input validation only: the rules live in services."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。注意区分大小写。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput, strip=False)
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, strip=False)
    new_password2 = forms.CharField(
        label=_("再次输入新密码"), widget=forms.PasswordInput, strip=False
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=100)


# ---------------------------------------------------------------- administration forms
#
# Choices come from selectors (the view passes the loaded objects in), so a form never reads
# the database itself; cleaning a choice returns the object it names.

INDENT = "\u3000"  # an ideographic space: tree depth in a <select> that also reads well in Chinese


def department_label(dept: Any) -> str:
    return INDENT * dept.depth + dept.name


def user_label(user: Any) -> str:
    name = user.display_name or user.username
    if user.display_name:
        name = f"{name}（{user.username}）"
    return name


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
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
        )
        super().__init__(**kwargs)
        self.by_key: dict[str, Any] = {}

    def set_objects(self, objects: Iterable[Any], label: Callable[[Any], str] = str) -> None:
        self.by_key = {str(o.pk): o for o in objects}
        self.choices = [(k, label(o)) for k, o in self.by_key.items()]

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return [self.by_key[str(v)] for v in value]


def _text(label: Any, *, required: bool = False, max_length: int = 150, **attrs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )


def _check(label: Any, **kwargs: Any) -> forms.BooleanField:
    return forms.BooleanField(
        label=label,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        **kwargs,
    )


def _version() -> forms.IntegerField:
    return forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)


def _password(label: Any, *, required: bool = True, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )


def _display(field: Any, value: Any) -> str:
    """A value as the user reads it in this field (a choice's label, 是/否, or the text)."""
    labels = {str(k): str(v) for k, v in getattr(field, "choices", [])}
    if isinstance(field, ObjectMultipleChoiceField):
        keys = sorted(str(getattr(v, "pk", v)) for v in value or [])
        return "、".join(labels.get(k, k) for k in keys) or "—"
    if isinstance(field, ObjectChoiceField):
        key = str(getattr(value, "pk", value)) if value not in (None, "") else ""
        return labels.get(key, key).strip("\u3000") if key else "—"
    if isinstance(field, forms.BooleanField):
        return str(_("是")) if value else str(_("否"))
    return str(value) if value not in (None, "") else "—"


class DomainErrorFormMixin:
    """Put a service's DomainError next to the field it names (or on top of the form)."""

    field_aliases: dict[str, str] = {}
    # The constructor's keyword arguments, kept by the view so a form can be rebuilt (stale edit).
    init_kwargs: dict[str, Any] = {}
    # After a stale edit: what the stored record now says, next to what the user typed.
    conflicts: list[dict[str, Any]] = []

    def conflicts_with(self, current: dict[str, Any]) -> list[dict[str, Any]]:
        """Fields where the stored record differs from this form's input (label, theirs, mine)."""
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
            name = self.field_aliases.get(err.get("field") or "", err.get("field") or "")
            target = name if name in self.fields else None  # type: ignore[attr-defined]
            self.add_error(target, err.get("message") or exc.message)  # type: ignore[attr-defined]


class UserFilterForm(forms.Form):
    q = _text(_("搜索"), max_length=100, placeholder=_("姓名、用户名或邮箱"), type="search")
    department = ObjectChoiceField(
        label=_("部门（含下级）"), required=False, empty_label=_("全部部门")
    )
    active = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("1", _("在职")), ("0", _("已停用"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, departments: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].set_objects(departments, department_label)  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """The list filters; an invalid value is ignored rather than failing the page."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        active = data.get("active")
        dept = data.get("department")
        return {
            "q": (data.get("q") or "").strip(),
            "department_id": dept.pk if dept is not None else None,
            "active": None if active in (None, "") else active == "1",
        }


class UserForm(DomainErrorFormMixin, forms.Form):
    """Create (with username and first password) or edit a user."""

    field_aliases = {"password": "password", "members": "department"}

    username = _text(_("用户名"), required=True, autocomplete="off")
    password = _password(
        _("初始密码"),
        required=False,
        help_text=_("留空则该用户暂时无法登录，之后可以为其重置密码。"),
    )
    display_name = _text(_("姓名"), max_length=100)
    email = _text(_("邮箱"), max_length=254, type="email", autocomplete="off")
    mobile = _text(_("手机"), max_length=32, type="tel", autocomplete="off")
    department = ObjectChoiceField(label=_("部门"), required=False, empty_label=_("（无）"))
    manager = ObjectChoiceField(label=_("直属上级"), required=False, empty_label=_("（无）"))
    roles = ObjectMultipleChoiceField(label=_("角色"), required=False)
    is_active = _check(_("启用（可以登录）"), initial=True)
    version = _version()

    def __init__(
        self,
        *args: Any,
        creating: bool,
        departments: Iterable[Any] = (),
        users: Iterable[Any] = (),
        roles: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["username"]
            del self.fields["password"]
        self.fields["department"].set_objects(departments, department_label)  # type: ignore[attr-defined]
        self.fields["manager"].set_objects(users, user_label)  # type: ignore[attr-defined]
        self.fields["roles"].set_objects(roles)  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(user: Any) -> dict[str, Any]:
        return {
            "display_name": user.display_name,
            "email": user.email,
            "mobile": user.mobile,
            "department": user.department_id,
            "manager": user.manager_id,
            "roles": [str(r.pk) for r in user.roles.all()],
            "is_active": user.is_active,
            "version": user.version,
        }


class UserPasswordResetForm(DomainErrorFormMixin, forms.Form):
    field_aliases = {"password": "new_password"}

    new_password = _password(_("新密码"))
    new_password2 = _password(_("再次输入新密码"))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return data


class DepartmentForm(DomainErrorFormMixin, forms.Form):
    field_aliases = {"members": "name"}

    name = _text(_("部门名称"), required=True, max_length=100)
    parent = ObjectChoiceField(label=_("上级部门"), required=False, empty_label=_("（顶级部门）"))
    manager = ObjectChoiceField(label=_("负责人"), required=False, empty_label=_("（未指定）"))
    sort = forms.IntegerField(
        label=_("排序"),
        initial=0,
        required=False,
        help_text=_("同一上级下数字小的排在前面"),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    is_active = _check(_("启用"), initial=True)
    version = _version()

    def __init__(
        self,
        *args: Any,
        creating: bool,
        departments: Iterable[Any] = (),
        users: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["is_active"]
        self.fields["parent"].set_objects(departments, department_label)  # type: ignore[attr-defined]
        self.fields["manager"].set_objects(users, user_label)  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(dept: Any) -> dict[str, Any]:
        return {
            "name": dept.name,
            "parent": dept.parent_id,
            "manager": dept.manager_id,
            "sort": dept.sort,
            "is_active": dept.is_active,
            "version": dept.version,
        }


class RoleForm(DomainErrorFormMixin, forms.Form):
    name = _text(_("名称"), required=True, max_length=100)
    code = _text(
        _("代码"),
        required=True,
        max_length=50,
        autocomplete="off",
        spellcheck="false",
    )
    description = forms.CharField(
        label=_("说明"),
        required=False,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )
    is_admin = _check(
        _("系统管理员"), help_text=_("拥有全部权限，可管理组织、角色与配置；下面的授权对它不生效")
    )
    version = _version()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _("小写字母、数字、- 和 _，例如 sales_rep；用于接口和导入")

    @staticmethod
    def initial_for(role: Any) -> dict[str, Any]:
        return {
            "name": role.name,
            "code": role.code,
            "description": role.description,
            "is_admin": role.is_admin,
            "version": role.version,
        }


@dataclass
class GrantRow:
    """One row of the grants matrix, as submitted (or as stored, for the first render)."""

    entity: Any
    actions: list[str]
    scope: str
    edit_scope: str
    error: str = ""


def grant_rows_parse(data: Any, entities: Iterable[Any]) -> list[GrantRow]:
    """Read the grants matrix from POST data: `<entity>-actions`, `-scope`, `-edit_scope`.

    Unknown actions and scopes are dropped here; the service checks the rules (edit scope
    within the visible scope, …) and its message is shown on the row.
    """
    from crm.access.models import Scope

    rows = []
    for entity in entities:
        actions = [a for a in data.getlist(f"{entity.key}-actions") if a in entity.actions]
        scope = data.get(f"{entity.key}-scope", Scope.NONE)
        edit_scope = data.get(f"{entity.key}-edit_scope", Scope.NONE)
        rows.append(
            GrantRow(
                entity=entity,
                actions=actions,
                scope=scope if scope in Scope.values else Scope.NONE,
                edit_scope=edit_scope if edit_scope in Scope.values else Scope.NONE,
            )
        )
    return rows


def field_rules_parse(data: Any, entities: Iterable[Any]) -> dict[tuple[str, str], str]:
    """Read the field-rules page: one `<entity>.<field>` select per field."""
    from crm.access.models import FieldAccess

    out: dict[tuple[str, str], str] = {}
    for entity in entities:
        for spec in entity.fields:
            value = data.get(f"{entity.key}.{spec.name}")
            if value in FieldAccess.values:
                out[(entity.key, spec.name)] = value
    return out
