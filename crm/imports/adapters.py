"""What can be imported, and how: one adapter per entity, in a registry.

An adapter declares its fields (what a column can be mapped to), cleans a row into the values
its owning app's services accept, decides what a row is (new, the same as an existing record,
a possible duplicate, unusable) and writes it through those services. The import engine
(crm.imports.services) is the same for every entity: chunks, transactions, the report,
resuming and rolling back.

Adding an entity: subclass `Adapter`, implement `fields`, `clean`, `decide`, `write` and
`rollback`, and `adapter_register()` it (see the lead and opportunity adapters at the end;
they register only when their app's services exist).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.visibility import can, is_admin
from crm.core.errors import DomainError, ValidationFailed
from crm.imports import cleaning
from crm.imports.config import rule_on

# ---------------------------------------------------------------- shared structures


@dataclass
class FieldDef:
    key: str
    label: Any
    concept: str = ""
    required: bool = False
    help: Any = ""

    @property
    def multi(self) -> bool:
        from crm.imports.mapping import MULTI

        return self.concept in MULTI


@dataclass
class Row:
    """One source row on its way through the import."""

    number: int
    raw: dict[str, str]
    sources: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    action: str = ""
    fingerprint: str = ""
    target_id: int | None = None
    target_row: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    created: dict[str, list[int]] = field(default_factory=dict)
    changed: dict[str, Any] = field(default_factory=dict)
    # What the adapter prepared for writing (service arguments); never stored.
    payload: dict[str, Any] = field(default_factory=dict)

    def reject(self, message: str) -> None:
        self.action = "reject"
        self.errors.append(message)

    def label(self, key: str) -> str:
        return "、".join(self.sources.get(key, [])) or key


@dataclass
class Context:
    """One run of one batch: who, which settings, and what earlier rows decided."""

    actor: Any
    settings: dict[str, Any]
    mode: str = "merge"
    dry_run: bool = True
    batch_id: int | None = None
    # in-file duplicate keys → ("row", source row number)
    index: dict[str, int] = field(default_factory=dict)
    # source row number → id of the record it created or matched (filled while writing)
    row_ids: dict[int, int] = field(default_factory=dict)
    # source row number (or "db:<id>") → the state of the record a row creates or merges
    # into, as later rows of the run will find it
    virtual: dict[Any, dict[str, Any]] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]


class Adapter:
    key = ""
    label: Any = ""
    model_path = ""  # "app_label.Model": the entity whose "import" right is needed
    order = 100

    def available(self) -> bool:
        return True

    def model(self) -> Any:
        from django.apps import apps

        return apps.get_model(self.model_path)

    def may_import(self, actor: Any) -> bool:
        return can(actor, "import", self.model()) and can(actor, "create", self.model())

    def fields(self) -> list[FieldDef]:
        raise NotImplementedError

    def field_map(self) -> dict[str, FieldDef]:
        return {f.key: f for f in self.fields()}

    def labels(self, ctx: Context) -> dict[str, str]:
        """Field key → its label (translated once per run)."""
        return ctx.cached(
            f"labels:{self.key}", lambda: {f.key: str(f.label) for f in self.fields()}
        )

    def concepts(self) -> dict[str, str]:
        """concept → field key, for the automatic mapping."""
        out: dict[str, str] = {}
        for f in self.fields():
            if f.concept and f.concept not in out:
                out[f.concept] = f.key
        return out

    def custom_entity(self) -> str:
        """The entity whose custom fields columns may become (''= none)."""
        return ""

    def clean(self, row: Row, ctx: Context) -> None:
        raise NotImplementedError

    def decide(self, rows: list[Row], ctx: Context) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row], ctx: Context) -> None:
        raise NotImplementedError

    def rollback(self, row: Any, actor: Any) -> list[str]:
        """Undo what one stored ImportRow wrote; returns problems (kept changes)."""
        raise NotImplementedError

    def where_value(self, row: Row, key: str) -> str:
        value = row.values.get(key, row.raw.get(key, ""))
        return "" if value is None else str(value)


ADAPTERS: dict[str, Adapter] = {}


def adapter_register(adapter: Adapter) -> Adapter:
    ADAPTERS[adapter.key] = adapter
    return adapter


def adapters() -> list[Adapter]:
    _load_builtin()
    return sorted((a for a in ADAPTERS.values() if a.available()), key=lambda a: a.order)


UNNAMED = gettext_lazy("未命名联系人")

ENTITY_ALIASES = {
    "customers": "customer",
    "客户": "customer",
    "contacts": "contact",
    "联系人": "contact",
    "followups": "followup",
    "follow-ups": "followup",
    "follow-up": "followup",
    "跟进记录": "followup",
    "leads": "lead",
    "线索": "lead",
    "opportunities": "opportunity",
    "商机": "opportunity",
}


def adapter_get(key: str) -> Adapter:
    _load_builtin()
    key = ENTITY_ALIASES.get((key or "").strip().lower(), (key or "").strip().lower())
    adapter = ADAPTERS.get(key)
    if adapter is None or not adapter.available():
        names = "、".join(f"{a.key}（{a.label}）" for a in adapters())
        raise ValidationFailed(
            _("不能导入「%(k)s」；可导入：%(names)s") % {"k": key[:30], "names": names},
            field="entity",
        )
    return adapter


# ---------------------------------------------------------------- helpers


def fingerprint(entity: str, raw: dict[str, str]) -> str:
    """The same source content (mapped cells, whitespace-insensitive) gives the same print."""
    parts = [entity]
    for key in sorted(raw):
        value = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw[key] or "")).strip()
        if value:
            parts.append(f"{key}={value}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def changes_for(
    existing: dict[str, Any], incoming: dict[str, Any], mode: str, labels: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """What to write into an existing record: empty fields are filled (merge); with "update"
    different values are overwritten too. Returns (changes, messages about kept values)."""
    changes: dict[str, Any] = {}
    kept: list[str] = []
    for key, value in incoming.items():
        if _empty(value):
            continue
        old = existing.get(key)
        if _empty(old):
            changes[key] = value
        elif old != value:
            if mode == "update":
                changes[key] = value
            else:
                kept.append(
                    _("「%(f)s」保留原值「%(old)s」（文件中为「%(new)s」）")
                    % {"f": labels.get(key, key), "old": str(old)[:40], "new": str(value)[:40]}
                )
    return changes, kept


def _names(values: list[str]) -> str:
    return "、".join(str(v) for v in values)


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,，、;；/|\n]+", text or "") if p.strip()]


def _json(value: Any) -> Any:
    """A cleaned value as it is stored in a report (JSON): dates as ISO text, amounts as
    text, containers element by element."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json(v) for v in value]
    return value


def safe_call(row: Row, fn: Callable[[], Any]) -> Any:
    """Run one service call for a row in its own savepoint: a refusal rejects the row, not
    the chunk."""
    try:
        with transaction.atomic():
            return fn()
    except DomainError as exc:
        row.action = "reject"
        detail = "；".join(e.get("message", "") for e in exc.errors if e.get("message"))
        row.errors.append(detail or exc.message)
        return None


# ---------------------------------------------------------------- people and owners


def users_index(ctx: Context) -> dict[str, Any]:
    """Active users by username, display name and email (lower case); '*ambiguous*' when
    two share a display name."""

    def build() -> dict[str, Any]:
        from crm.access.models import User

        out: dict[str, Any] = {}
        for user in User.objects.filter(is_active=True).only(
            "id", "username", "display_name", "email", "is_active", "is_superuser"
        ):
            for key in {user.username, user.display_name, user.email}:
                k = (key or "").strip().lower()
                if not k:
                    continue
                if k in out and out[k].pk != user.pk:
                    out[k] = None  # ambiguous
                else:
                    out[k] = user
        return out

    index: dict[str, Any] = ctx.cached("users", build)
    return index


def owner_resolve(row: Row, ctx: Context, text: str) -> Any:
    """The user named in an owner cell (username, name or email). None when the cell is empty
    or names nobody (reported); whether the actor may give a record to that user is
    `owner_allowed`, checked only for records the row creates."""
    text = (text or "").strip()
    if not text:
        return None
    users = users_index(ctx)
    key = text.lower()
    if key in users and users[key] is None:
        row.reject(_("负责人「%s」有重名，请填写用户名") % text[:30])
        return None
    user = users.get(key)
    if user is None:
        row.messages.append(_("负责人「%s」不是在职用户，负责人设为导入人") % text[:30])
    return user


def owner_allowed(ctx: Context, user: Any) -> bool:
    """The services' owner rule: oneself, one's reports; administrators anyone."""
    if user is None or user.pk == ctx.actor.pk or is_admin(ctx.actor):
        return True

    def reports() -> set[int]:
        from crm.access.visibility import report_ids

        return set(report_ids(ctx.actor))

    return user.pk in ctx.cached("reports", reports)


def person_fields(
    row: Row, ctx: Context, prefix: str = ""
) -> tuple[dict[str, Any], list[str], str]:
    """A contact/lead person from the row: (service data, notes, review reason).

    Data keys: name, title, mobile, phone, email, wechat, birthday, role, notes — raw texts
    the service normalises (phones as extracted pieces, so what the user typed is kept)."""
    s = ctx.settings
    raw = row.raw
    g = lambda k: (raw.get(prefix + k) or "").strip()  # noqa: E731
    name_text = g("name")
    if name_text == str(UNNAMED):  # what quick add and imports call a nameless contact
        name_text = ""
    if not name_text and (g("family_name") or g("given_name")):
        fam, giv = g("family_name"), g("given_name")
        name_text = f"{fam}{giv}" if cleaning.CJK.search(fam + giv) else f"{giv} {fam}".strip()
    person = cleaning.person_name_clean(
        name_text, s, extra_titles=tuple(s.get("extra_titles") or ())
    )
    row.messages.extend(person.messages)
    data: dict[str, Any] = {"name": person.name}
    notes: list[str] = []
    title = g("title") or person.title
    if g("title") and person.title and person.title not in g("title"):
        notes.append(_("称谓：%s") % person.title)
    department = g("department")
    if department:
        title = f"{department} {title}".strip() if title else department
    data["title"] = title
    salutation = g("salutation") or person.salutation
    if salutation:
        notes.append(
            _("称呼：%s") % f"{person.name}{salutation}" if len(salutation) <= 2 else salutation
        )
    phones = cleaning.phones_clean(
        [(row.label(prefix + "mobile"), g("mobile")), (row.label(prefix + "phone"), g("phone"))], s
    )
    row.messages.extend(phones.messages)
    notes.extend(phones.notes)
    data["mobile"] = phones.mobile_raw
    data["phone"] = phones.phone_raw
    emails = cleaning.emails_clean([g("email")], s)
    row.messages.extend(emails.messages)
    data["email"] = emails.email
    if emails.invalid:
        notes.append(_("无效邮箱：%s") % _names(emails.invalid))
    if emails.others:
        notes.append(_("其他邮箱：%s") % _names(emails.others))
    wechat = g("wechat") or phones.wechat
    data["wechat"] = wechat
    birthday = g("birthday")
    if birthday:
        try:
            data["birthday"] = cleaning.date_parse(birthday)
        except ValueError:
            row.messages.append(_("生日「%s」不是日期，未导入该字段") % birthday[:20])
    role = g("role")
    if role:
        data["role"] = _role(role, row)
    row.payload.setdefault("_phones", {})[prefix] = phones
    return data, notes, person.review


def contact_clean_prepared(
    data: dict[str, Any], row: Row, ctx: Context, prefix: str = ""
) -> dict[str, Any]:
    """The customers app's contact_clean for a person from person_fields.

    Phones and the email were normalised there by the same functions contact_clean uses
    (phone_normalize through phone_extract, email_normalize): they are put back in rather
    than parsed a second time, which is a third of the cleaning time of a row."""
    from crm.customers.services import contact_clean

    phones = row.payload["_phones"][prefix]
    checked_email = rule_on(ctx.settings, "emails")
    clean = contact_clean(
        {**data, "mobile": "", "phone": "", **({"email": ""} if checked_email else {})}
    )
    clean["mobile"], clean["mobile_raw"] = phones.mobile, phones.mobile_raw
    clean["phone"], clean["phone_raw"] = phones.phone, phones.phone_raw
    if checked_email:
        clean["email"] = data.get("email") or ""
    return clean


ROLE_WORDS = {
    "decision_maker": (
        "决策人",
        "决策者",
        "关键人",
        "拍板人",
        "老板",
        "decision maker",
        "decision",
    ),
    "technical": ("技术", "技术负责人", "technical", "tech"),
    "procurement": ("采购", "采购负责人", "procurement", "purchasing"),
    "user": ("使用者", "用户", "user"),
    "other": ("其他", "other"),
}


def _role(text: str, row: Row) -> str:
    low = text.strip().lower()
    for key, words in ROLE_WORDS.items():
        if low == key or low in (w.lower() for w in words):
            return key
    row.messages.append(_("联系人角色「%s」无法识别，设为「其他」") % text[:20])
    return "other"


def custom_clean(row: Row, ctx: Context, entity: str) -> tuple[dict[str, Any], list[str]]:
    """custom.<key> columns validated by their definitions; an invalid value is reported and
    kept in the notes instead of being dropped silently."""
    from crm.customfields.services import custom_field_defs, custom_value_clean

    defs = ctx.cached(f"custom:{entity}", lambda: {d.key: d for d in custom_field_defs(entity)})
    out: dict[str, Any] = {}
    notes: list[str] = []
    for key, text in row.raw.items():
        if not key.startswith("custom.") or not (text or "").strip():
            continue
        d = defs.get(key[7:])
        if d is None:
            continue
        try:
            value = custom_value_clean(d, text.strip())
        except ValidationFailed as exc:
            row.messages.append(_("%(msg)s，未导入该字段（原文记入备注）") % {"msg": exc.message})
            notes.append(f"{d.label}：{text.strip()[:200]}")
            continue
        if value is not None:
            out[d.key] = value
    return out, notes


def validation_message(exc: ValidationFailed, labels: dict[str, Any]) -> str:
    field_name = exc.field or ""
    label = labels.get(field_name, "")
    return f"{label}：{exc.message}" if label else exc.message


# ---------------------------------------------------------------- the built-in adapters

_LOADED: list[bool] = []


def _load_builtin() -> None:
    """Import the modules that register the built-in adapters (once, lazily: they import
    the domain apps' services, which import much of the project)."""
    if _LOADED:
        return
    _LOADED.append(True)
    from crm.imports import adapters_customers, adapters_followups, adapters_sales  # noqa: F401
