"""Importing customers (with a primary contact per row) and contacts.

Customers are the bulk of a migration (the benchmark: 100,000 rows into 1,000,000), so new
customers are written per chunk in bulk: the customers app's own cleaning and validation
(`customer_clean`, `contact_clean`, custom field rules, the owner rule, permissions and field
security) decide every value, then the rows go in with multi-row INSERTs, one timeline
event per customer, the search index in bulk and one audit entry per chunk listing what it
created. Everything that changes an existing record (merge, update, rollback) goes through
the services one row at a time: customer_update, contact_create, contact_update,
customers_tag, customer_delete, contact_delete.
"""

from __future__ import annotations

import unicodedata
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.fieldsec import writable_fields
from crm.access.visibility import can, require
from crm.core.errors import ValidationFailed
from crm.customers.models import ContactRole, CustomerStatus
from crm.customers.normalize import company_name_key
from crm.imports import cleaning
from crm.imports.adapters import (
    UNNAMED,
    Adapter,
    Context,
    FieldDef,
    Row,
    _json,
    _split_list,
    adapter_register,
    changes_for,
    contact_clean_prepared,
    custom_clean,
    owner_allowed,
    owner_resolve,
    person_fields,
    safe_call,
    validation_message,
)

CUSTOMER_TEXT = ("industry", "source", "address", "website")
# Customer fields a merge may fill or an update overwrite (never the name: rows are matched
# on it; never the status or the owner: those have their own workflows).
MERGEABLE = (
    "credit_code",
    "industry",
    "level",
    "source",
    "province",
    "city",
    "address",
    "website",
    "notes",
)
CONTACT_COMPARE = ("title", "mobile", "phone", "email", "wechat", "birthday", "role", "notes")


# (key, concept, label in a contact import, label in a customer import)
CONTACT_FIELD_SPECS = [
    ("name", "person_name", gettext_lazy("姓名"), gettext_lazy("联系人姓名")),
    ("family_name", "family_name", gettext_lazy("姓"), gettext_lazy("联系人姓")),
    ("given_name", "given_name", gettext_lazy("名"), gettext_lazy("联系人名")),
    ("salutation", "salutation", gettext_lazy("称谓"), gettext_lazy("联系人称谓")),
    ("title", "title", gettext_lazy("职务"), gettext_lazy("联系人职务")),
    ("department", "department", gettext_lazy("部门"), gettext_lazy("联系人部门")),
    ("mobile", "mobile", gettext_lazy("手机"), gettext_lazy("联系人手机")),
    ("phone", "phone", gettext_lazy("电话"), gettext_lazy("联系人电话")),
    ("email", "email", gettext_lazy("邮箱"), gettext_lazy("联系人邮箱")),
    ("wechat", "wechat", gettext_lazy("微信"), gettext_lazy("联系人微信")),
    ("birthday", "birthday", gettext_lazy("生日"), gettext_lazy("联系人生日")),
    ("role", "role", gettext_lazy("角色"), gettext_lazy("联系人角色")),
    ("notes", "notes", gettext_lazy("备注"), gettext_lazy("联系人备注")),
]


# The person fields a contact is created with, in the services' order.
PERSON_KEYS = ("name", "title", "mobile", "phone", "email", "wechat", "birthday", "role", "notes")


def _contact_fields(prefix: str) -> list[FieldDef]:
    out = []
    for key, concept, label, prefixed in CONTACT_FIELD_SPECS:
        if prefix and concept == "notes":
            concept = "contact_notes"
        out.append(
            FieldDef(
                f"{prefix}{key}",
                prefixed if prefix else label,
                concept,
                required=key == "name" and not prefix,
            )
        )
    return out


def _custom_fields(entity: str) -> list[FieldDef]:
    from crm.customfields.services import custom_field_defs

    return [
        FieldDef(f"custom.{d.key}", d.label, help=gettext_lazy("自定义字段"))
        for d in custom_field_defs(entity)
    ]


def _has_contact(raw: dict[str, str], prefix: str) -> bool:
    keys = ("name", "family_name", "given_name", "mobile", "phone", "email", "wechat")
    return any((raw.get(prefix + k) or "").strip() for k in keys)


def _contact_state(contact: Any) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "name": contact.name,
        **{k: _json(getattr(contact, k)) for k in CONTACT_COMPARE},
        "mobile_raw": contact.mobile_raw,
        "phone_raw": contact.phone_raw,
    }


def _contact_match(
    contacts: list[dict[str, Any]], incoming: dict[str, Any]
) -> dict[str, Any] | None:
    for c in contacts:
        for key in ("mobile", "phone", "email"):
            if incoming.get(key) and incoming.get(key) in (
                c.get("mobile"),
                c.get("phone"),
                c.get("email"),
            ):
                return c
    name = incoming.get("name")
    if name and name != str(UNNAMED):
        for c in contacts:
            if c.get("name") == name:
                return c
    return None


def _service_contact_data(clean: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """Contact values as the contact services take them: phones as typed (normalised again
    by the service, so the stored original text is what the file said)."""
    out: dict[str, Any] = {}
    for key in keys:
        if key in ("mobile", "phone"):
            out[key] = clean.get(f"{key}_raw") or clean.get(key) or ""
        else:
            out[key] = clean.get(key)
    return out


class CustomerAdapter(Adapter):
    key = "customer"
    label = gettext_lazy("客户")
    model_path = "customers.Customer"
    order = 10

    def fields(self) -> list[FieldDef]:
        base = [
            FieldDef("name", gettext_lazy("客户名称"), "company", required=True),
            FieldDef("credit_code", gettext_lazy("统一社会信用代码"), "credit_code"),
            FieldDef("industry", gettext_lazy("行业"), "industry"),
            FieldDef("level", gettext_lazy("客户级别"), "level"),
            FieldDef("source", gettext_lazy("客户来源"), "source"),
            FieldDef("province", gettext_lazy("省份"), "province"),
            FieldDef("city", gettext_lazy("城市"), "city"),
            FieldDef("address", gettext_lazy("详细地址"), "address"),
            FieldDef("website", gettext_lazy("网址"), "website"),
            FieldDef("status", gettext_lazy("客户状态"), "status"),
            FieldDef("notes", gettext_lazy("备注"), "notes"),
            FieldDef("owner", gettext_lazy("负责人"), "owner", help=gettext_lazy("用户名或姓名")),
            FieldDef(
                "owner_username",
                gettext_lazy("负责人账号"),
                "owner_login",
                help=gettext_lazy("用户名；与「负责人」同时有时以它为准"),
            ),
            FieldDef(
                "id",
                gettext_lazy("ID（本系统客户编号）"),
                "record_id",
                help=gettext_lazy(
                    "本系统导出文件中的 ID：据此更新同一客户（名称或信用代码须一致）"
                ),
            ),
            FieldDef(
                "tags", gettext_lazy("标签"), "tags", help=gettext_lazy("已有标签，多个用逗号分隔")
            ),
        ]
        return base + _contact_fields("contact.") + _custom_fields("customer")

    def custom_entity(self) -> str:
        return "customer"

    # ------------------------------------------------------------ cleaning

    def clean(self, row: Row, ctx: Context) -> None:
        from crm.customers import config as customer_config
        from crm.customers.services import customer_clean

        s = ctx.settings
        raw = row.raw
        v = row.values
        notes: list[str] = []
        try:
            company = cleaning.company_name_tidy(raw.get("name", ""), s)
        except ValidationFailed as exc:
            row.reject(_("缺少客户名称") if not (raw.get("name") or "").strip() else exc.message)
            return
        row.messages.extend(company.messages)
        v["name"] = company.name
        if company.branch:
            v["branch"] = company.branch
        code_text = (raw.get("credit_code") or "").strip()
        if code_text:
            code, problem = cleaning.credit_code_try(code_text)
            if problem:
                row.messages.append(
                    _("统一社会信用代码「%(c)s」无效（%(p)s），未导入该字段（原文记入备注）")
                    % {"c": code_text[:30], "p": problem}
                )
                notes.append(_("统一社会信用代码（待核实）：%s") % code_text[:30])
            else:
                v["credit_code"] = code
        for key in CUSTOMER_TEXT:
            text = " ".join((raw.get(key) or "").split())
            if text:
                v[key] = text
        level_text = (raw.get("level") or "").strip()
        if level_text:
            levels = ctx.cached("levels", customer_config.levels)
            level = cleaning.level_match(level_text, levels)
            if level is None:
                row.messages.append(
                    _("客户级别「%(v)s」不是设置中的级别（%(l)s），未导入该字段")
                    % {"v": level_text[:20], "l": "、".join(levels)}
                )
            else:
                v["level"] = level
        status_text = (raw.get("status") or "").strip()
        if status_text:
            status = cleaning.choice_match(status_text, list(CustomerStatus.choices))
            if status is None:
                row.messages.append(
                    _("客户状态「%s」无法识别，按「新客户」导入") % status_text[:20]
                )
            else:
                v["status"] = status
        region = cleaning.regions_clean(
            raw.get("province", ""), raw.get("city", ""), v.get("address", ""), s
        )
        row.messages.extend(region.messages)
        if region.province:
            v["province"] = region.province
        if region.city:
            v["city"] = region.city
        owner = owner_resolve(row, ctx, raw.get("owner_username") or raw.get("owner", ""))
        record_id = (raw.get("id") or "").strip()
        if record_id.isdigit():
            v["id"] = int(record_id)
        if owner is not None:
            v["owner"] = owner.username
        tags = self._tags(row, ctx)
        if tags:
            v["tags"] = [t.full_name for t in tags]
        contact_data: dict[str, Any] | None = None
        if _has_contact(raw, "contact."):
            contact_data, contact_notes, review = person_fields(row, ctx, "contact.")
            if review:
                row.reject(_("需人工核实：%s") % review)
            if not contact_data["name"]:
                contact_data["name"] = str(UNNAMED)
                row.messages.append(_("联系人没有姓名，记为「未命名联系人」"))
            extra = (raw.get("contact.notes") or "").strip()
            contact_data["notes"] = "\n".join(x for x in [extra, *contact_notes] if x)
        custom, custom_notes = custom_clean(row, ctx, "customer")
        notes.extend(custom_notes)
        text_notes = (raw.get("notes") or "").strip()
        v_notes = "\n".join(x for x in [text_notes, *notes] if x)
        if v_notes:
            v["notes"] = v_notes
        if custom:
            v["custom"] = custom
        if row.action == "reject":
            return
        labels = self.labels(ctx)
        # The level was matched against the same configured levels above; leaving it out here
        # saves customer_clean a settings query per row.
        data = {
            k: v.get(k, "")
            for k in ("name", "credit_code", *CUSTOMER_TEXT, "status", "province", "city", "notes")
        }
        try:
            clean_customer = customer_clean(data)
        except ValidationFailed as exc:
            row.reject(validation_message(exc, labels))
            return
        clean_customer["level"] = v.get("level", "")
        clean_contact = None
        if contact_data is not None:
            try:
                clean_contact = contact_clean_prepared(contact_data, row, ctx, "contact.")
            except ValidationFailed as exc:
                row.reject(
                    validation_message(
                        exc, {k[8:]: lbl for k, lbl in labels.items() if k.startswith("contact.")}
                    )
                )
                return
            for key in (
                "name",
                "title",
                "mobile",
                "phone",
                "email",
                "wechat",
                "birthday",
                "role",
                "notes",
            ):
                value = clean_contact.get(key)
                if value and not (
                    key == "role" and value == ContactRole.OTHER and "role" not in contact_data
                ):
                    v[f"contact.{key}"] = _json(value)
        row.payload.update(
            customer=clean_customer,
            contact=clean_contact,
            contact_role_given="role" in (contact_data or {}),
            custom=custom,
            tags=tags,
            owner=owner,
        )

    def _tags(self, row: Row, ctx: Context) -> list[Any]:
        text = (row.raw.get("tags") or "").strip()
        if not text:
            return []

        def build() -> dict[str, Any]:
            from crm.customers.models import Tag

            out: dict[str, Any] = {}
            for tag in Tag.objects.all():
                out.setdefault(tag.full_name.lower(), tag)
                out.setdefault(tag.name.lower(), tag)
            return out

        index = ctx.cached("tags", build)
        found: list[Any] = []
        missing: list[str] = []
        for name in cleaning_split(text):
            tag = index.get(name.lower())
            if tag is None:
                missing.append(name)
            elif tag not in found:
                found.append(tag)
        if missing:
            row.messages.append(
                _("标签不存在，已忽略：%s（请先在「标签」中建好）") % "、".join(missing)[:100]
            )
        return found

    def where_value(self, row: Row, key: str) -> str:
        value = row.values.get(key)
        if value is None:
            return (row.raw.get(key) or "").strip()
        return ",".join(value) if isinstance(value, list) else str(value)

    # ------------------------------------------------------------ deciding

    def keys(self, row: Row) -> dict[str, Any]:
        customer = row.payload["customer"]
        contact = row.payload.get("contact") or {}
        names = {customer["name_key"]}
        raw_name = unicodedata.normalize("NFKC", row.raw.get("name", "")).strip()
        if raw_name:
            names.add(company_name_key(raw_name))
        return {
            "credit": customer.get("credit_code") or "",
            "names": {n for n in names if n},
            "phones": {p for p in (contact.get("mobile"), contact.get("phone")) if p},
            "email": contact.get("email") or "",
        }

    def decide(self, rows: list[Row], ctx: Context) -> None:
        from crm.customers.models import Contact, Customer

        pending = [r for r in rows if not r.action]
        if not pending:
            return
        keys = {r.number: self.keys(r) for r in pending}
        credits = sorted({k["credit"] for k in keys.values() if k["credit"]})
        names = sorted({n for k in keys.values() for n in k["names"]})
        phones = sorted({p for k in keys.values() for p in k["phones"]})
        emails = sorted({k["email"] for k in keys.values() if k["email"]})
        wanted_ids = [r.values["id"] for r in pending if r.values.get("id")]
        by_id = {
            pk: (key, code)
            for pk, key, code in Customer.objects.filter(pk__in=wanted_ids).values_list(
                "pk", "name_key", "credit_code"
            )
        }
        by_credit: dict[str, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        by_phone: dict[str, set[int]] = {}
        by_email: dict[str, set[int]] = {}
        for part in _chunks(credits):
            for code, pk in Customer.objects.filter(credit_code__in=part).values_list(
                "credit_code", "pk"
            ):
                by_credit.setdefault(code, []).append(pk)
        for part in _chunks(names):
            for key, pk in (
                Customer.objects.filter(name_key__in=part)
                .order_by("pk")
                .values_list("name_key", "pk")
            ):
                by_name.setdefault(key, []).append(pk)
        for part in _chunks(phones):
            qs = Contact.objects.filter(
                Q(mobile__in=part) | Q(phone__in=part), customer__deleted_at__isnull=True
            )
            for mobile, phone, cid in qs.values_list("mobile", "phone", "customer_id"):
                for number in (mobile, phone):
                    if number:
                        by_phone.setdefault(number, set()).add(cid)
        for part in _chunks(emails):
            qs = Contact.objects.filter(email__in=part, customer__deleted_at__isnull=True)
            for email, cid in qs.values_list("email", "customer_id"):
                by_email.setdefault(email, set()).add(cid)

        fuzzy: list[Row] = []
        targets: dict[int, list[Row]] = {}
        for row in pending:
            k = keys[row.number]
            hit = self._in_file(row, k, ctx)
            if hit:
                continue
            ids = by_credit.get(k["credit"], []) if k["credit"] else []
            why = _("统一社会信用代码相同")
            record = row.values.get("id")
            if record:
                found = by_id.get(record)
                if found and (found[0] in k["names"] or (k["credit"] and found[1] == k["credit"])):
                    ids, why = [record], _("ID 相同")
                else:
                    row.messages.append(
                        _("ID %s 不是本系统中同一名称的客户，已按名称匹配") % record
                    )
            if not ids:
                for name in sorted(k["names"]):
                    if by_name.get(name):
                        ids = by_name[name]
                        why = _("名称相同")
                        break
            if ids:
                if len(ids) > 1:
                    row.messages.append(
                        _("库中有 %(n)d 个客户与之相同，取最早的 #%(id)d")
                        % {"n": len(ids), "id": ids[0]}
                    )
                row.target_id = ids[0]
                row.payload["why"] = why
                targets.setdefault(ids[0], []).append(row)
                continue
            by_contact = set()
            reasons: list[str] = []
            for p in k["phones"]:
                if by_phone.get(p):
                    by_contact |= by_phone[p]
                    reasons.append(_("联系人电话相同"))
            if k["email"] and by_email.get(k["email"]):
                by_contact |= by_email[k["email"]]
                reasons.append(_("联系人邮箱相同"))
            if by_contact:
                self._duplicate(row, ctx, sorted(by_contact), reasons)
                continue
            # A new customer, unless the fuzzy check below finds it; indexed now so that later
            # rows of the file merge into it.
            self._create(row, ctx, k)
            if row.action == "create":
                fuzzy.append(row)
        if fuzzy:
            self._fuzzy(fuzzy, ctx)
            held = {r.number for r in fuzzy if r.action == "duplicate"}
            for number in held:
                ctx.virtual.pop(number, None)
            for number in held:
                # The keys _create indexed for the row (not a scan of the whole index, which
                # grows with the file).
                k = keys[number]
                own = [*self._index_keys(k), *(f"p:{p}" for p in k["phones"])]
                if k["email"]:
                    own.append(f"e:{k['email']}")
                for key in own:
                    if ctx.index.get(key) == number:
                        del ctx.index[key]
            for row in pending:
                if row.target_row in held:
                    row.action = "duplicate"
                    row.messages.append(
                        _("与第 %d 行是同一客户，而第 %d 行疑似重复未导入")
                        % (row.target_row, row.target_row)
                    )
        if targets:
            self._merge_targets(targets, ctx)
        for row in pending:
            if row.action in ("merge", "update", "skip") and row.target_id:
                for key in self._index_keys(keys[row.number]):
                    ctx.index.setdefault(key, -row.target_id)

    def _index_keys(self, k: dict[str, Any]) -> list[str]:
        out = [f"n:{n}" for n in k["names"]]
        if k["credit"]:
            out.append(f"c:{k['credit']}")
        return out

    def _in_file(self, row: Row, k: dict[str, Any], ctx: Context) -> bool:
        """An earlier row of this file is the same company (same credit code or name key)."""
        for key in self._index_keys(k):
            ref = ctx.index.get(key)
            if ref is None:
                continue
            if ref < 0:  # an existing customer an earlier row matched
                row.target_id = -ref
                row.payload["why"] = _("与前面的行是同一客户")
                self._merge_targets({-ref: [row]}, ctx)
                return True
            state = ctx.virtual.get(ref)
            if state is None:
                continue
            earlier = state["customer"].get("credit_code")
            if k["credit"] and earlier and earlier != k["credit"]:
                row.action = "duplicate"
                row.messages.append(
                    _("与第 %(r)d 行同名，但统一社会信用代码不同，请核实") % {"r": ref}
                )
                return True
            row.target_row = ref
            self._plan(row, state, ctx, _("与第 %(r)d 行是同一客户") % {"r": ref})
            return True
        phone_keys = [f"p:{p}" for p in k["phones"]] + ([f"e:{k['email']}"] if k["email"] else [])
        for key in phone_keys:
            ref = ctx.index.get(key)
            if ref is not None and ref > 0:
                row.action = "duplicate"
                row.messages.append(
                    _("联系人电话或邮箱与第 %(r)d 行相同，但公司名称不同，请核实是否同一客户")
                    % {"r": ref}
                )
                return True
        return False

    def _duplicate(self, row: Row, ctx: Context, ids: list[int], reasons: list[str]) -> None:
        from crm.customers.models import Customer

        row.action = "duplicate"
        for customer in Customer.objects.filter(pk__in=ids[:5]).select_related("owner"):
            row.candidates.append(
                {
                    "id": customer.pk,
                    "name": customer.name if can(ctx.actor, "view", customer) else "",
                    "owner": customer.owner.name if customer.owner else _("公海"),
                    "score": 90,
                    "reasons": list(dict.fromkeys(str(r) for r in reasons)),
                }
            )
        row.messages.append(
            _("疑似已有客户（%(why)s）：%(who)s；公司名称不同，未自动合并，请核实")
            % {
                "why": "、".join(dict.fromkeys(str(r) for r in reasons)),
                "who": "、".join(f"#{c['id']} {c['name']}".strip() for c in row.candidates),
            }
        )

    def _fuzzy(self, rows: list[Row], ctx: Context) -> None:
        """Rows without an exact hit: similar names (crm.dedupe.matching) hold a row back."""
        try:
            from crm.dedupe.matching import RowIndex, customer_candidates
        except ImportError:  # the dedupe app is not installed
            return
        threshold = float(ctx.settings.get("fuzzy_threshold") or 85)
        inputs = []
        for row in rows:
            c = row.payload["customer"]
            contact = row.payload.get("contact") or {}
            inputs.append(
                {
                    "name": c["name"],
                    "credit_code": c.get("credit_code", ""),
                    "phones": [p for p in (contact.get("mobile"), contact.get("phone")) if p],
                    "emails": [contact["email"]] if contact.get("email") else [],
                    "industry": c.get("industry", ""),
                    "province": c.get("province", ""),
                }
            )
        try:
            # Only strong candidates hold a row: the dedupe app then skips its weak
            # short-name round (most of its work on a large database).
            results = customer_candidates(inputs, limit=3, min_score=threshold)
        except TypeError:  # an older matching module without min_score
            results = customer_candidates(inputs, limit=3)
        ids = {cand.customer_id for cands in results for cand in cands if cand.score >= threshold}
        names = self._names_visible(ids, ctx)
        # The rows of this file created so far (all chunks, and in a dry run, where nothing
        # is written): a similar name among them holds the row back as well.
        earlier_rows = ctx.cached("fuzzy_rows", RowIndex)
        for row, cands, wanted in zip(rows, results, inputs, strict=True):
            strong = [cand for cand in cands if cand.score >= threshold]
            if not strong:
                side, earlier = earlier_rows.check(wanted, limit=3)
                close = [c for c in earlier if c.score >= threshold]
                if not close:
                    earlier_rows.add(side, row.number)
                    continue
                row.action = "duplicate"
                row.messages.append(
                    _("疑似与第 %(r)d 行重复：相似度 %(s)d（%(why)s），未导入，请核实")
                    % {
                        "r": close[0].index,
                        "s": round(close[0].score),
                        "why": "；".join(close[0].reasons[:3]),
                    }
                )
                continue
            row.action = "duplicate"
            for cand in strong:
                row.candidates.append(
                    {
                        "id": cand.customer_id,
                        "name": names.get(cand.customer_id, ""),
                        "score": cand.score,
                        "reasons": [str(r) for r in cand.reasons],
                    }
                )
            best = strong[0]
            row.messages.append(
                _("疑似重复：与客户 #%(id)d %(name)s 相似度 %(s)d（%(why)s），未导入，请核实")
                % {
                    "id": best.customer_id,
                    "name": names.get(best.customer_id, ""),
                    "s": round(best.score),
                    "why": "；".join(str(r) for r in best.reasons[:3]),
                }
            )

    def _names_visible(self, ids: set[int], ctx: Context) -> dict[int, str]:
        from crm.access.visibility import visible
        from crm.customers.models import Customer

        if not ids:
            return {}
        return dict(visible(ctx.actor, Customer).filter(pk__in=ids).values_list("pk", "name"))

    def _create(self, row: Row, ctx: Context, k: dict[str, Any]) -> None:
        p = row.payload
        if not owner_allowed(ctx, p.get("owner")):
            row.reject(_("只能把客户分配给自己或下属（负责人「%s」）") % p["owner"].name)
            return
        row.action = "create"
        contact = p.get("contact")
        ctx.virtual[row.number] = {
            "customer": {key: p["customer"].get(key, "") for key in MERGEABLE},
            "custom": dict(p.get("custom") or {}),
            "tags": {t.pk for t in p.get("tags") or []},
            "contacts": [
                {
                    "id": None,
                    "name": contact["name"],
                    **{x: _json(contact.get(x)) for x in CONTACT_COMPARE},
                }
            ]
            if contact
            else [],
        }
        for key in self._index_keys(k):
            ctx.index.setdefault(key, row.number)
        for phone in k["phones"]:
            ctx.index.setdefault(f"p:{phone}", row.number)
        if k["email"]:
            ctx.index.setdefault(f"e:{k['email']}", row.number)

    def _merge_targets(self, targets: dict[int, list[Row]], ctx: Context) -> None:
        """Rows matching existing customers: merge / update / skip per the mode, through the
        permission check (a customer the actor may not edit is reported, not touched)."""
        from crm.customers.models import Contact, Customer, CustomerTag
        from crm.customers.services import DuplicateHit, duplicate_describe

        customers = {
            c.pk: c
            for c in Customer.objects.filter(pk__in=list(targets)).select_related(
                "owner", "owner__department"
            )
        }
        contacts: dict[int, list[dict[str, Any]]] = {}
        for contact in Contact.objects.filter(customer_id__in=list(customers)):
            contacts.setdefault(contact.customer_id, []).append(_contact_state(contact))
        tags: dict[int, set[int]] = {}
        for cid, tid in CustomerTag.objects.filter(customer_id__in=list(customers)).values_list(
            "customer_id", "tag_id"
        ):
            tags.setdefault(cid, set()).add(tid)
        for cid, rows in targets.items():
            customer = customers.get(cid)
            for row in rows:
                if customer is None:
                    self._create(row, ctx, self.keys(row))
                    continue
                incoming_code = row.payload["customer"].get("credit_code")
                if incoming_code and customer.credit_code and incoming_code != customer.credit_code:
                    info = duplicate_describe(ctx.actor, DuplicateHit(customer, []))
                    row.action = "duplicate"
                    row.candidates.append(
                        {
                            "id": cid,
                            "name": info["name"],
                            "owner": info["owner"],
                            "score": 60,
                            "reasons": [_("名称相同，统一社会信用代码不同")],
                        }
                    )
                    row.messages.append(
                        _(
                            "与客户 #%(id)d 名称相同，但统一社会信用代码不同（库中 %(a)s，文件 %(b)s），未自动合并，请核实"
                        )
                        % {"id": cid, "a": customer.credit_code, "b": incoming_code}
                    )
                    continue
                if ctx.mode == "skip":
                    row.action = "skip"
                    row.messages.append(
                        _("客户已存在（#%(id)d，%(why)s），按设置不做改动")
                        % {"id": cid, "why": row.payload.get("why", "")}
                    )
                    continue
                if not can(ctx.actor, "edit", customer):
                    info = duplicate_describe(ctx.actor, DuplicateHit(customer, []))
                    row.action = "duplicate"
                    row.candidates.append(
                        {
                            "id": cid,
                            "name": info["name"],
                            "owner": info["owner"],
                            "score": 100,
                            "reasons": [str(row.payload.get("why", ""))],
                        }
                    )
                    row.messages.append(
                        _(
                            "客户已存在（负责人：%(owner)s %(dept)s），您无权修改，未导入；如需跟进请申请协作"
                        )
                        % {"owner": info["owner"], "dept": info["department"]}
                    )
                    continue
                key = f"db:{cid}"
                if key not in ctx.virtual:
                    ctx.virtual[key] = {
                        "customer": {k: getattr(customer, k) for k in MERGEABLE},
                        "custom": dict(customer.custom or {}),
                        "tags": tags.get(cid, set()),
                        "contacts": contacts.get(cid, []),
                        "id": cid,
                    }
                self._plan(
                    row,
                    ctx.virtual[key],
                    ctx,
                    _("客户已存在（#%(id)d，%(why)s）")
                    % {"id": cid, "why": row.payload.get("why", "")},
                )

    def _plan(self, row: Row, state: dict[str, Any], ctx: Context, intro: str) -> None:
        """What merging this row into `state` (an existing or earlier-row customer) changes;
        the state is updated so that later rows see it."""
        labels = self.labels(ctx)
        p = row.payload
        incoming = {k: p["customer"].get(k, "") for k in MERGEABLE}
        changes, kept = changes_for(state["customer"], incoming, ctx.mode, labels)
        custom_changes, kept_custom = changes_for(
            state["custom"], p.get("custom") or {}, ctx.mode, labels
        )
        tags_add = [t for t in p.get("tags") or [] if t.pk not in state["tags"]]
        contact_plan: dict[str, Any] | None = None
        contact = p.get("contact")
        if contact:
            mine = {k: _json(contact.get(k)) for k in ("name", *CONTACT_COMPARE)}
            if not p.get("contact_role_given"):
                mine.pop("role", None)
            match = _contact_match(state["contacts"], mine)
            if match is None:
                contact_plan = {"op": "create", "data": contact}
                state["contacts"].append({"id": None, **mine})
            else:
                incoming_c = {k: v for k, v in mine.items() if k != "name"}
                cchanges, ckept = changes_for(
                    match,
                    incoming_c,
                    ctx.mode,
                    {k[8:]: lbl for k, lbl in labels.items() if k.startswith("contact.")},
                )
                kept.extend(ckept)
                if cchanges:
                    contact_plan = {
                        "op": "update",
                        "id": match.get("id"),
                        "changes": cchanges,
                        "data": contact,
                    }
                    match.update(cchanges)
        state["customer"].update(changes)
        state["custom"].update(custom_changes)
        state["tags"] |= {t.pk for t in tags_add}
        row.payload["plan"] = {
            "customer": changes,
            "custom": custom_changes,
            "tags": tags_add,
            "contact": contact_plan,
        }
        if not (changes or custom_changes or tags_add or contact_plan):
            row.action = "skip"
            row.messages.append(_("%s，信息一致，无需更新") % intro)
        else:
            row.action = "update" if ctx.mode == "update" else "merge"
            what = [labels.get(k, k) for k in changes] + [
                labels.get(f"custom.{k}", k) for k in custom_changes
            ]
            if tags_add:
                what.append(_("标签"))
            if contact_plan:
                what.append(_("新联系人") if contact_plan["op"] == "create" else _("联系人信息"))
            verb = _("更新") if row.action == "update" else _("补充")
            row.messages.append(
                _("%(intro)s，%(verb)s：%(what)s")
                % {"intro": intro, "verb": verb, "what": "、".join(str(w) for w in what)}
            )
        row.messages.extend(kept + kept_custom)

    # ------------------------------------------------------------ writing

    def write(self, rows: list[Row], ctx: Context) -> None:
        creates = {r.number: r for r in rows if r.action == "create"}
        folded: list[Row] = []
        for row in rows:
            # A later row of the same chunk about a customer this chunk creates (legacy lists
            # repeat the company on each contact's row): its values and contact become part
            # of the creation, as customer_create(contacts=[…]) would take them.
            if row.action in ("merge", "update") and row.target_row in creates:
                self._fold(row, creates[row.target_row])
                folded.append(row)
        if creates:
            self._bulk_create(list(creates.values()), ctx)
        for row in rows:
            if row in folded:
                target = creates[row.target_row or 0]
                if target.action != "create":
                    row.reject(_("第 %d 行未能导入，本行随之未导入") % target.number)
                    continue
                row.target_id = target.target_id
                contact = row.payload.get("folded_contact")
                if contact is not None and contact.get("_pk"):
                    row.created = {"contact": [contact["_pk"]]}
            elif row.action in ("merge", "update"):
                self._apply_plan(row, ctx)
            elif row.action == "skip" and row.target_row and not row.target_id:
                row.target_id = ctx.row_ids.get(row.target_row)

    def _fold(self, row: Row, target: Row) -> None:
        plan = row.payload.get("plan") or {}
        tp = target.payload
        tp["customer"].update(plan.get("customer") or {})
        if plan.get("custom"):
            tp["custom"] = {**(tp.get("custom") or {}), **plan["custom"]}
        if plan.get("tags"):
            tp["tags"] = [*(tp.get("tags") or []), *plan["tags"]]
        contact_plan = plan.get("contact")
        if not contact_plan:
            return
        if contact_plan["op"] == "create":
            contact = dict(contact_plan["data"])
            tp.setdefault("extra_contacts", []).append(contact)
            row.payload["folded_contact"] = contact
            return
        mine = {k: _json(contact_plan["data"].get(k)) for k in ("name", *CONTACT_COMPARE)}
        for contact in [tp.get("contact"), *tp.get("extra_contacts", [])]:
            if contact and _contact_match(
                [{k: _json(contact.get(k)) for k in ("name", *CONTACT_COMPARE)}], mine
            ):
                for key in contact_plan["changes"]:
                    contact[key] = contact_plan["data"].get(key)
                    if key in ("mobile", "phone"):
                        contact[f"{key}_raw"] = contact_plan["data"].get(f"{key}_raw", "")
                return

    def _bulk_create(self, rows: list[Row], ctx: Context) -> None:
        """New customers of one chunk, in bulk; every value was produced by the customers
        app's own cleaning (customer_clean / contact_clean) in `clean`."""
        from crm.audit.services import _jsonable, audit_record
        from crm.customers.models import Contact, Customer, CustomerTag
        from crm.search.services import search_index_many
        from crm.timeline.models import TimelineEvent
        from crm.timeline.services import timeline_append_many

        actor = ctx.actor
        require(actor, "create", Customer)
        may_contacts = ctx.cached("may_contacts", lambda: can(actor, "create", Contact))
        fields_used = sorted(
            {
                k
                for r in rows
                for k, v in r.payload["customer"].items()
                if v and k not in ("name_key", "status")
            }
        )
        blocked = set(fields_used) - set(writable_fields(actor, "customer", fields_used))
        ok: list[Row] = []
        for row in rows:
            if row.payload.get("contact") and not may_contacts:
                row.reject(_("您没有新建联系人的权限"))
            elif blocked & {k for k, v in row.payload["customer"].items() if v}:
                row.reject(_("您无权填写字段：%s") % "、".join(sorted(blocked)))
            else:
                ok.append(row)
        if not ok:
            return
        now = timezone.now()
        fields = ctx.cached("completeness", _completeness_fields)
        objs: list[Any] = []
        for row in ok:
            p = row.payload
            owner = p.get("owner") or actor
            customer = Customer(
                **p["customer"],
                custom=p.get("custom") or {},
                owner=owner,
                owned_since=now,
                created_by=actor,
            )
            people = [c for c in [p.get("contact"), *p.get("extra_contacts", [])] if c]
            customer.completeness = _completeness(customer, people, bool(p.get("tags")), fields)
            objs.append(customer)
        Customer.objects.bulk_create(objs, batch_size=500)
        contacts: list[Any] = []
        tag_rows: list[Any] = []
        events: list[Any] = []
        batch_note = _("通过导入创建（批次 #%s）") % ctx.batch_id
        for row, customer in zip(ok, objs, strict=True):
            p = row.payload
            row.target_id = customer.pk
            ctx.row_ids[row.number] = customer.pk
            row.created = {"customer": [customer.pk]}
            if p.get("contact"):
                contacts.append(
                    Contact(customer=customer, is_primary=True, custom={}, **p["contact"])
                )
            for extra in p.get("extra_contacts", []):
                obj = Contact(
                    customer=customer,
                    is_primary=not p.get("contact") and extra is p["extra_contacts"][0],
                    custom={},
                    **extra,
                )
                extra["_contact"] = obj
                contacts.append(obj)
            for tag in p.get("tags") or []:
                tag_rows.append(CustomerTag(customer=customer, tag=tag))
            values = {k: v for k, v in p["customer"].items() if v and k != "name_key"}
            events.append(
                TimelineEvent(
                    customer_id=customer.pk,
                    kind="created",
                    actor=actor,
                    summary=batch_note,
                    data=_jsonable(
                        {"values": values, "import_batch": ctx.batch_id, "row": row.number}
                    ),
                    at=now,
                )
            )
        if contacts:
            Contact.objects.bulk_create(contacts, batch_size=500)
            primary = {c.customer_id: c.pk for c in contacts if c.is_primary}
            for row in ok:
                cid = primary.get(row.target_id or 0)
                if cid and row.payload.get("contact"):
                    row.created["contact"] = [cid]
                for extra in row.payload.get("extra_contacts", []):
                    extra["_pk"] = extra.pop("_contact").pk
        if tag_rows:
            CustomerTag.objects.bulk_create(tag_rows, batch_size=500)
        timeline_append_many(events)
        search_index_many(objs)
        if contacts:
            search_index_many(contacts)
        audit_record(
            action="create",
            actor=actor,
            entity="customer",
            object_id=f"import:{ctx.batch_id}",
            object_repr=_("导入批次 #%(b)s：新建 %(n)d 个客户")
            % {"b": ctx.batch_id, "n": len(objs)},
            changes={
                "import_batch": ctx.batch_id,
                "rows": [r.number for r in ok],
                "customers": [c.pk for c in objs],
                "contacts": [c.pk for c in contacts],
            },
        )

    def _apply_plan(self, row: Row, ctx: Context) -> None:
        from crm.customers.models import Contact, Customer
        from crm.customers.services import (
            contact_create,
            contact_update,
            customer_update,
            customers_tag,
        )

        cid = row.target_id or ctx.row_ids.get(row.target_row or 0)
        plan = row.payload.get("plan") or {}
        customer = Customer.objects.filter(pk=cid).first() if cid else None
        if customer is None:
            row.reject(_("要合并的客户已不存在（可能同一文件前面的行未能导入）"))
            return
        row.target_id = customer.pk
        changed: dict[str, Any] = {"customer": {"id": customer.pk}}
        if plan.get("customer") or plan.get("custom"):
            before = {k: getattr(customer, k) for k in plan.get("customer", {})}
            custom_before = {k: (customer.custom or {}).get(k) for k in plan.get("custom", {})}
            data = dict(plan.get("customer") or {})
            done = safe_call(
                row,
                lambda: customer_update(
                    actor=ctx.actor,
                    customer=customer,
                    expected_version=customer.version,
                    data=data,
                    custom=plan.get("custom") or None,
                ),
            )
            if done is None:
                return
            changed["customer"].update(
                before=_jsonify(before),
                after=_jsonify({k: getattr(customer, k) for k in before}),
                custom_before=_jsonify(custom_before),
                custom_after=_jsonify({k: (customer.custom or {}).get(k) for k in custom_before}),
            )
        if plan.get("tags"):
            tags = list(plan["tags"])
            if (
                safe_call(
                    row,
                    lambda: customers_tag(
                        actor=ctx.actor, customer_ids=[customer.pk], tags=tags, add=True
                    ),
                )
                is None
            ):
                return
            changed["customer"]["tags_added"] = [t.pk for t in tags]
        contact_plan = plan.get("contact")
        if contact_plan:
            data = contact_plan["data"]
            if contact_plan["op"] == "create":
                keys = [k for k in PERSON_KEYS if data.get(k)]
                created = safe_call(
                    row,
                    lambda: contact_create(
                        actor=ctx.actor, customer=customer, data=_service_contact_data(data, keys)
                    ),
                )
                if created is None:
                    return
                row.created["contact"] = [created.pk]
            else:
                contact = Contact.objects.filter(
                    pk=contact_plan.get("id") or 0, customer=customer
                ).first()
                if contact is None:  # the contact was created by an earlier row of this chunk
                    contact = _contact_match_db(customer, data)
                if contact is None:
                    row.reject(_("要更新的联系人已不存在"))
                    return
                keys = list(contact_plan["changes"])
                before = _contact_state(contact)
                updated = safe_call(
                    row,
                    lambda: contact_update(
                        actor=ctx.actor,
                        contact=contact,
                        expected_version=contact.version,
                        data=_service_contact_data(data, keys),
                    ),
                )
                if updated is None:
                    return
                after = _contact_state(updated)
                changed["contacts"] = [
                    {
                        "id": contact.pk,
                        "before": {k: before.get(k) for k in keys} | _raw_of(before, keys),
                        "after": {k: after.get(k) for k in keys},
                    }
                ]
        row.changed = changed

    # ------------------------------------------------------------ rollback

    def rollback(self, row: Any, actor: Any) -> list[str]:
        from crm.customers.models import Contact, Customer, Tag
        from crm.customers.services import (
            contact_delete,
            contact_update,
            customer_delete,
            customer_update,
            customers_tag,
        )

        problems: list[str] = []
        created = row.created or {}
        for contact in Contact.objects.filter(pk__in=created.get("contact", [])):
            if row.action != "create":  # a contact a merge added; a new customer's go with it
                contact_delete(actor=actor, contact=contact)
        for contact_change in (row.changed or {}).get("contacts", []):
            contact = Contact.objects.filter(pk=contact_change["id"]).first()
            if contact is None:
                continue
            revert, kept = _revert(
                _contact_state(contact), contact_change["before"], contact_change["after"]
            )
            problems.extend(_kept_messages(kept, row.row))
            if revert:
                contact_update(actor=actor, contact=contact, expected_version=None, data=revert)
        change = (row.changed or {}).get("customer") or {}
        customer = Customer.objects.filter(pk=change.get("id") or 0).first()
        if customer is not None and (
            change.get("before") or change.get("custom_before") or change.get("tags_added")
        ):
            revert, kept = _revert(
                {k: getattr(customer, k) for k in change.get("before", {})},
                change.get("before", {}),
                change.get("after", {}),
            )
            custom_now = customer.custom or {}
            custom_revert, kept_custom = _revert(
                {k: custom_now.get(k) for k in change.get("custom_before", {})},
                change.get("custom_before", {}),
                change.get("custom_after", {}),
            )
            problems.extend(_kept_messages(kept + kept_custom, row.row))
            if revert or custom_revert:
                customer_update(
                    actor=actor,
                    customer=customer,
                    expected_version=None,
                    data=revert,
                    custom={k: (v if v is not None else "") for k, v in custom_revert.items()}
                    or None,
                )
            if change.get("tags_added"):
                tags = list(Tag.objects.filter(pk__in=change["tags_added"]))
                if tags:
                    customers_tag(actor=actor, customer_ids=[customer.pk], tags=tags, add=False)
        for customer in Customer.objects.filter(pk__in=created.get("customer", [])):
            if customer.version > 1:
                problems.append(
                    _("第 %(r)d 行导入的客户「%(n)s」导入后被修改过，仍已移入回收站（可恢复）")
                    % {"r": row.row, "n": customer.name}
                )
            customer_delete(actor=actor, customer=customer)
        return problems


def cleaning_split(text: str) -> list[str]:
    """Tag names in a cell: 、 , ; | or new lines between them; "/" belongs to a tag's full
    name (行业/制造业)."""
    import re

    return [p.strip() for p in re.split(r"[,，、;；|\n]+", text or "") if p.strip()]


def _chunks(values: list[Any], size: int = 900) -> Any:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _jsonify(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _json(v) for k, v in values.items()}


def _raw_of(state: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {f"{k}_raw": state.get(f"{k}_raw") for k in keys if k in ("mobile", "phone")}


def _contact_match_db(customer: Any, data: dict[str, Any]) -> Any:
    from crm.customers.models import Contact

    for key in ("mobile", "phone", "email"):
        if data.get(key):
            found = Contact.objects.filter(customer=customer).filter(**{key: data[key]}).first()
            if found:
                return found
    return Contact.objects.filter(customer=customer, name=data.get("name")).first()


def _revert(
    current: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Fields to set back: only those still holding what the import wrote."""
    revert: dict[str, Any] = {}
    kept: list[str] = []
    for key, new in after.items():
        if key.endswith("_raw"):
            continue
        if _json(current.get(key)) == new:
            old = before.get(key)
            if key in ("mobile", "phone") and before.get(f"{key}_raw"):
                old = before[f"{key}_raw"]
            revert[key] = "" if old is None else old
        else:
            kept.append(key)
    return revert, kept


def _kept_messages(keys: list[str], number: int) -> list[str]:
    if not keys:
        return []
    return [
        _("第 %(r)d 行：%(f)s 在导入后又被修改，保留当前值，未还原")
        % {"r": number, "f": "、".join(keys)}
    ]


def _completeness_fields() -> list[str]:
    from crm.customers import config

    return config.completeness_fields()


def _completeness(
    customer: Any, contacts: list[dict[str, Any]], has_tags: bool, fields: list[str]
) -> int:
    """crm.customers.services.completeness_compute for a customer not saved yet, from the
    contacts about to be created with it (tests/test_adapters.py checks both agree)."""
    if not fields:
        return 100
    filled = 0
    for key in fields:
        if key == "contact":
            ok = bool(contacts)
        elif key == "contact_phone":
            ok = any(c.get("mobile") or c.get("phone") for c in contacts)
        elif key == "contact_email":
            ok = any(c.get("email") for c in contacts)
        elif key == "decision_maker":
            ok = any(c.get("role") == ContactRole.DECISION_MAKER for c in contacts)
        elif key == "tags":
            ok = has_tags
        elif key.startswith("custom."):
            ok = (customer.custom or {}).get(key[7:]) not in (None, "", [])
        else:
            ok = bool(getattr(customer, key, ""))
        filled += 1 if ok else 0
    return round(filled * 100 / len(fields))


# ---------------------------------------------------------------- contacts


class ContactAdapter(Adapter):
    """Contacts of existing customers, linked by the customer's name or credit code."""

    key = "contact"
    label = gettext_lazy("联系人")
    model_path = "customers.Contact"
    order = 20

    def fields(self) -> list[FieldDef]:
        return [
            FieldDef(
                "customer", gettext_lazy("客户名称"), "company", help=gettext_lazy("已有客户的名称")
            ),
            FieldDef("customer_credit_code", gettext_lazy("客户统一社会信用代码"), "credit_code"),
            FieldDef(
                "customer_id",
                gettext_lazy("客户ID"),
                "customer_id",
                help=gettext_lazy("本系统的客户编号"),
            ),
            FieldDef(
                "id",
                gettext_lazy("ID（本系统联系人编号）"),
                "record_id",
                help=gettext_lazy("本系统导出文件中的 ID：据此更新同一联系人"),
            ),
            *_contact_fields(""),
            *_custom_fields("contact"),
        ]

    def custom_entity(self) -> str:
        return "contact"

    def clean(self, row: Row, ctx: Context) -> None:
        raw = row.raw
        v = row.values
        name = (raw.get("customer") or "").strip()
        code_text = (raw.get("customer_credit_code") or "").strip()
        code = ""
        if code_text:
            code, problem = cleaning.credit_code_try(code_text)
            if problem:
                row.messages.append(
                    _("客户统一社会信用代码「%(c)s」无效：%(p)s")
                    % {"c": code_text[:30], "p": problem}
                )
        for key in ("customer_id", "id"):
            text = (raw.get(key) or "").strip()
            if text.isdigit():
                v[key] = int(text)
        if not name and not code and not v.get("customer_id"):
            row.reject(_("缺少客户名称或统一社会信用代码，无法确定联系人属于哪个客户"))
            return
        if name:
            try:
                company = cleaning.company_name_tidy(name, ctx.settings)
                v["customer"] = company.name
            except ValidationFailed:
                v["customer"] = name
        if code:
            v["customer_credit_code"] = code
        if not _has_contact(raw, ""):
            row.reject(_("没有联系人信息（姓名、电话、邮箱都为空）"))
            return
        data, notes, review = person_fields(row, ctx, "")
        if review:
            row.reject(_("需人工核实：%s") % review)
            return
        if not data["name"]:
            data["name"] = str(UNNAMED)
            row.messages.append(_("联系人没有姓名，记为「未命名联系人」"))
        custom, custom_notes = custom_clean(row, ctx, "contact")
        data["notes"] = "\n".join(
            x for x in [(raw.get("notes") or "").strip(), *notes, *custom_notes] if x
        )
        labels = self.labels(ctx)
        try:
            clean = contact_clean_prepared(data, row, ctx)
        except ValidationFailed as exc:
            row.reject(validation_message(exc, labels))
            return
        for key in (
            "name",
            "title",
            "mobile",
            "phone",
            "email",
            "wechat",
            "birthday",
            "role",
            "notes",
        ):
            value = clean.get(key)
            if value and not (key == "role" and value == ContactRole.OTHER and "role" not in data):
                v[key] = _json(value)
        if custom:
            v["custom"] = custom
        row.payload.update(
            contact=clean,
            custom=custom,
            role_given="role" in data,
            company_key=company_name_key(v.get("customer", "")) if v.get("customer") else "",
        )

    def decide(self, rows: list[Row], ctx: Context) -> None:
        from crm.customers.models import Contact, Customer

        pending = [r for r in rows if not r.action]
        codes = sorted(
            {
                r.values["customer_credit_code"]
                for r in pending
                if r.values.get("customer_credit_code")
            }
        )
        keys = sorted({r.payload["company_key"] for r in pending if r.payload.get("company_key")})
        by_code: dict[str, Any] = {}
        by_key: dict[str, Any] = {}
        for part in _chunks(codes):
            for c in Customer.objects.filter(credit_code__in=part).order_by("pk"):
                by_code.setdefault(c.credit_code, c)
        for part in _chunks(keys):
            for c in Customer.objects.filter(name_key__in=part).order_by("pk"):
                by_key.setdefault(c.name_key, c)
        by_id = {
            c.pk: c
            for c in Customer.objects.filter(
                pk__in=[r.values["customer_id"] for r in pending if r.values.get("customer_id")]
            )
        }
        customer_ids = {c.pk for c in [*by_code.values(), *by_key.values(), *by_id.values()]}
        existing: dict[int, list[dict[str, Any]]] = {}
        for contact in Contact.objects.filter(customer_id__in=customer_ids):
            existing.setdefault(contact.customer_id, []).append(_contact_state(contact))
        labels = self.labels(ctx)
        for row in pending:
            customer = (
                by_id.get(row.values.get("customer_id") or 0)
                or by_code.get(row.values.get("customer_credit_code", ""))
                or by_key.get(row.payload.get("company_key", ""))
            )
            if customer is None or not can(ctx.actor, "edit", customer):
                row.reject(
                    _("找不到客户「%s」，或您无权为其添加联系人；请先导入客户")
                    % (row.values.get("customer") or row.values.get("customer_credit_code"))
                )
                continue
            row.payload["customer_obj"] = customer
            clean = row.payload["contact"]
            mine = {k: _json(clean.get(k)) for k in ("name", *CONTACT_COMPARE)}
            if not row.payload.get("role_given"):
                mine.pop("role", None)
            state = existing.setdefault(customer.pk, [])
            match = next(
                (c for c in state if row.values.get("id") and c.get("id") == row.values["id"]), None
            )
            match = match or _contact_match(state, mine)
            if match is None:
                row.action = "create"
                state.append({"id": None, **mine, "_row": row.number})
                row.messages.append(
                    _("新联系人，属于客户 #%(id)d %(n)s") % {"id": customer.pk, "n": customer.name}
                )
                continue
            if ctx.mode == "skip":
                row.action = "skip"
                row.messages.append(_("联系人已存在，按设置不做改动"))
                continue
            incoming = {k: v for k, v in mine.items() if k != "name"}
            changes, kept = changes_for(match, incoming, ctx.mode, labels)
            row.messages.extend(kept)
            if not changes:
                row.action = "skip"
                row.target_id = match.get("id")
                row.messages.append(_("联系人已存在，信息一致，无需更新"))
                continue
            row.action = "update" if ctx.mode == "update" else "merge"
            row.target_id = match.get("id")
            row.payload["changes"] = list(changes)
            match.update(changes)
            row.messages.append(
                _("联系人已存在，%(verb)s：%(f)s")
                % {
                    "verb": _("更新") if ctx.mode == "update" else _("补充"),
                    "f": "、".join(labels.get(k, k) for k in changes),
                }
            )

    def write(self, rows: list[Row], ctx: Context) -> None:
        from crm.customers.models import Contact
        from crm.customers.services import contact_create, contact_update

        for row in rows:
            p = row.payload
            if row.action == "create":
                keys = [k for k in PERSON_KEYS if p["contact"].get(k)]
                contact = safe_call(
                    row,
                    partial(
                        contact_create,
                        actor=ctx.actor,
                        customer=p["customer_obj"],
                        data=_service_contact_data(p["contact"], keys),
                        custom=p.get("custom") or None,
                    ),
                )
                if contact is not None:
                    row.target_id = contact.pk
                    row.created = {"contact": [contact.pk]}
            elif row.action in ("merge", "update"):
                contact = Contact.objects.filter(
                    pk=row.target_id or 0
                ).first() or _contact_match_db(p["customer_obj"], p["contact"])
                if contact is None:
                    row.reject(_("要更新的联系人已不存在"))
                    continue
                keys = p["changes"]
                before = _contact_state(contact)
                updated = safe_call(
                    row,
                    partial(
                        contact_update,
                        actor=ctx.actor,
                        contact=contact,
                        expected_version=contact.version,
                        data=_service_contact_data(p["contact"], keys),
                    ),
                )
                if updated is not None:
                    row.target_id = contact.pk
                    after = _contact_state(updated)
                    row.changed = {
                        "contacts": [
                            {
                                "id": contact.pk,
                                "before": {k: before.get(k) for k in keys} | _raw_of(before, keys),
                                "after": {k: after.get(k) for k in keys},
                            }
                        ]
                    }

    def rollback(self, row: Any, actor: Any) -> list[str]:
        from crm.customers.models import Contact
        from crm.customers.services import contact_delete, contact_update

        problems: list[str] = []
        for contact in Contact.objects.filter(pk__in=(row.created or {}).get("contact", [])):
            contact_delete(actor=actor, contact=contact)
        for change in (row.changed or {}).get("contacts", []):
            contact = Contact.objects.filter(pk=change["id"]).first()
            if contact is None:
                continue
            revert, kept = _revert(_contact_state(contact), change["before"], change["after"])
            problems.extend(_kept_messages(kept, row.row))
            if revert:
                contact_update(actor=actor, contact=contact, expected_version=None, data=revert)
        return problems


adapter_register(CustomerAdapter())
adapter_register(ContactAdapter())

__all__ = ["ContactAdapter", "CustomerAdapter", "_split_list"]
