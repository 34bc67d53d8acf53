"""Importing follow-up history (跟进记录) onto existing customers, through followup_create."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.visibility import can
from crm.core.errors import ValidationFailed
from crm.customers.normalize import company_name_key
from crm.imports import cleaning
from crm.imports.adapters import Adapter, Context, FieldDef, Row, adapter_register, safe_call

KIND_WORDS = {
    "call": ("电话", "打电话", "电话沟通", "致电", "call", "phone", "phone call"),
    "visit": ("拜访", "上门", "上门拜访", "走访", "visit", "onsite"),
    "meeting": ("会议", "开会", "会谈", "meeting"),
    "email": ("邮件", "电子邮件", "email", "e-mail"),
    "wechat": ("微信", "wechat", "企业微信"),
    "note": ("备注", "记录", "其他", "note", "other"),
}


class FollowUpAdapter(Adapter):
    key = "followup"
    label = gettext_lazy("跟进记录")
    model_path = "activities.FollowUp"
    order = 30

    def fields(self) -> list[FieldDef]:
        return [
            FieldDef("customer", gettext_lazy("客户名称"), "company", required=True),
            FieldDef("customer_credit_code", gettext_lazy("客户统一社会信用代码"), "credit_code"),
            FieldDef(
                "contact",
                gettext_lazy("联系人"),
                "person_name",
                help=gettext_lazy("客户已有联系人的姓名"),
            ),
            FieldDef("kind", gettext_lazy("跟进方式"), "followup_kind"),
            FieldDef("content", gettext_lazy("跟进内容"), "followup_content", required=True),
            FieldDef("at", gettext_lazy("跟进时间"), "followup_at"),
            FieldDef("next_action", gettext_lazy("下一步"), "next_action"),
            FieldDef("next_follow_up_at", gettext_lazy("下次跟进时间"), "next_at"),
            FieldDef("location", gettext_lazy("地点"), "location"),
        ]

    def _kind(self, text: str, row: Row) -> str:
        from crm.activities.config import followup_kinds

        kinds = followup_kinds()
        found = cleaning.choice_match(text, [(k, label) for k, label in kinds])
        if found:
            return found
        low = text.strip().lower()
        keys = {k for k, _l in kinds}
        for key, words in KIND_WORDS.items():
            if key in keys and low in words:
                return key
        fallback = "note" if "note" in keys else kinds[0][0]
        row.messages.append(
            _("跟进方式「%(t)s」无法识别，记为「%(k)s」")
            % {"t": text[:20], "k": dict(kinds)[fallback]}
        )
        return fallback

    def _when(self, text: str, row: Row, label: str) -> dt.datetime | None:
        try:
            value = cleaning.datetime_parse(text)
        except ValueError:
            row.reject(
                _("%(f)s「%(v)s」不是日期时间（例：2024-03-08 14:30）")
                % {"f": label, "v": text[:30]}
            )
            return None
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_current_timezone())
        return value

    def clean(self, row: Row, ctx: Context) -> None:
        raw = row.raw
        v = row.values
        name = (raw.get("customer") or "").strip()
        code = ""
        if (raw.get("customer_credit_code") or "").strip():
            code, problem = cleaning.credit_code_try(raw["customer_credit_code"])
            if problem:
                row.messages.append(problem)
        if not name and not code:
            row.reject(_("缺少客户名称或统一社会信用代码，无法确定跟进记录属于哪个客户"))
            return
        if name:
            try:
                v["customer"] = cleaning.company_name_tidy(name, ctx.settings).name
            except ValidationFailed:
                v["customer"] = name
        if code:
            v["customer_credit_code"] = code
        content = (raw.get("content") or "").strip()
        if not content:
            row.reject(_("缺少跟进内容"))
            return
        v["content"] = content
        v["kind"] = (
            self._kind(raw.get("kind") or "", row) if (raw.get("kind") or "").strip() else "note"
        )
        at = self._when(raw.get("at") or "", row, _("跟进时间"))
        if at is not None:
            v["at"] = at.isoformat()
        next_at = self._when(raw.get("next_follow_up_at") or "", row, _("下次跟进时间"))
        if next_at is not None:
            v["next_follow_up_at"] = next_at.isoformat()
        for key in ("next_action", "location"):
            text = (raw.get(key) or "").strip()
            if text:
                v[key] = text
        contact = (raw.get("contact") or "").strip()
        if contact:
            person = cleaning.person_name_clean(contact, ctx.settings)
            v["contact"] = person.name or contact
        row.payload.update(
            at=at,
            next_at=next_at,
            company_key=company_name_key(v["customer"]) if v.get("customer") else "",
        )

    def decide(self, rows: list[Row], ctx: Context) -> None:
        from crm.activities.models import FollowUp
        from crm.customers.models import Customer

        pending = [r for r in rows if not r.action]
        codes = {
            r.values["customer_credit_code"]
            for r in pending
            if r.values.get("customer_credit_code")
        }
        keys = {r.payload["company_key"] for r in pending if r.payload.get("company_key")}
        by_code = {
            c.credit_code: c for c in Customer.objects.filter(credit_code__in=codes).order_by("-pk")
        }
        by_key = {c.name_key: c for c in Customer.objects.filter(name_key__in=keys).order_by("-pk")}
        seen: set[tuple[int, str, str]] = ctx.cache.setdefault("followups_seen", set())
        for row in pending:
            customer = by_code.get(row.values.get("customer_credit_code", "")) or by_key.get(
                row.payload["company_key"]
            )
            if customer is None or not can(ctx.actor, "view", customer):
                row.reject(
                    _("找不到客户「%s」或您无权查看；请先导入客户")
                    % (row.values.get("customer") or row.values.get("customer_credit_code"))
                )
                continue
            row.payload["customer_obj"] = customer
            at = row.payload["at"]
            minute = at.replace(second=0, microsecond=0).isoformat() if at else ""
            key = (customer.pk, minute, row.values["content"][:200])
            if key in seen:
                row.action = "skip"
                row.messages.append(_("与文件中前面的一条跟进记录相同，跳过"))
                continue
            if at is not None:
                same = FollowUp.objects.filter(
                    customer=customer,
                    at__gte=at.replace(second=0, microsecond=0),
                    at__lt=at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1),
                    content=row.values["content"],
                ).exists()
                if same:
                    row.action = "skip"
                    row.messages.append(_("该客户已有同一时间、同样内容的跟进记录，跳过"))
                    continue
            seen.add(key)
            row.action = "create"
            row.messages.append(
                _("新跟进记录，客户 #%(id)d %(n)s") % {"id": customer.pk, "n": customer.name}
            )

    def write(self, rows: list[Row], ctx: Context) -> None:
        from crm.activities.services import followup_create
        from crm.customers.models import Contact

        for row in rows:
            if row.action != "create":
                continue
            p = row.payload
            customer = p["customer_obj"]
            contact = None
            if row.values.get("contact"):
                contact = Contact.objects.filter(
                    customer=customer, name=row.values["contact"]
                ).first()
                if contact is None:
                    row.messages.append(
                        _("客户下没有联系人「%s」，跟进记录不关联联系人") % row.values["contact"]
                    )
            followup = safe_call(
                row,
                partial(
                    followup_create,
                    actor=ctx.actor,
                    customer=customer,
                    kind=row.values["kind"],
                    content=row.values["content"],
                    at=p["at"],
                    contact=contact,
                    next_action=row.values.get("next_action", ""),
                    next_follow_up_at=p["next_at"],
                    location=row.values.get("location", ""),
                ),
            )
            if followup is not None:
                row.target_id = followup.pk
                row.created = {"followup": [followup.pk]}

    def rollback(self, row: Any, actor: Any) -> list[str]:
        from crm.activities.models import FollowUp
        from crm.activities.services import followup_delete

        for followup in FollowUp.objects.filter(pk__in=(row.created or {}).get("followup", [])):
            followup_delete(actor=actor, followup=followup)
        return []


adapter_register(FollowUpAdapter())
