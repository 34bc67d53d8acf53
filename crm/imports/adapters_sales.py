"""Importing leads (线索) and opportunities (商机), row by row through their apps' services
(lead_create / lead_update / lead_delete, opportunity_create / opportunity_update /
opportunity_delete). Registered only when those services exist."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.visibility import can
from crm.core.errors import ValidationFailed
from crm.customers.normalize import company_name_key
from crm.imports import cleaning
from crm.imports.adapters import (
    Adapter,
    Context,
    FieldDef,
    Row,
    _json,
    adapter_register,
    changes_for,
    custom_clean,
    owner_allowed,
    owner_resolve,
    person_fields,
    safe_call,
    validation_message,
)
from crm.imports.adapters_customers import _custom_fields

LEAD_TEXT = ("company", "title", "source", "industry")


def _services(module: str, *names: str) -> bool:
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    return all(callable(getattr(mod, n, None)) for n in names)


def _revert_values(obj: Any, change: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    revert: dict[str, Any] = {}
    kept: list[str] = []
    for key, new in (change.get("after") or {}).items():
        if _json(getattr(obj, key, None)) == new:
            old = change["before"].get(key)
            revert[key] = "" if old is None else old
        else:
            kept.append(key)
    return revert, kept


# ---------------------------------------------------------------- leads


class LeadAdapter(Adapter):
    key = "lead"
    label = gettext_lazy("线索")
    model_path = "leads.Lead"
    order = 40

    def available(self) -> bool:
        return _services(
            "crm.leads.services", "lead_create", "lead_update", "lead_delete", "lead_clean"
        )

    def fields(self) -> list[FieldDef]:
        return [
            FieldDef("name", gettext_lazy("姓名"), "person_name", required=True),
            FieldDef("family_name", gettext_lazy("姓"), "family_name"),
            FieldDef("given_name", gettext_lazy("名"), "given_name"),
            FieldDef("salutation", gettext_lazy("称谓"), "salutation"),
            FieldDef("company", gettext_lazy("公司"), "company"),
            FieldDef("title", gettext_lazy("职务"), "title"),
            FieldDef("mobile", gettext_lazy("手机"), "mobile"),
            FieldDef("phone", gettext_lazy("电话"), "phone"),
            FieldDef("email", gettext_lazy("邮箱"), "email"),
            FieldDef("wechat", gettext_lazy("微信"), "wechat"),
            FieldDef("source", gettext_lazy("线索来源"), "source"),
            FieldDef("province", gettext_lazy("省份"), "province"),
            FieldDef("city", gettext_lazy("城市"), "city"),
            FieldDef("industry", gettext_lazy("行业"), "industry"),
            FieldDef("notes", gettext_lazy("备注"), "notes"),
            FieldDef("owner", gettext_lazy("负责人"), "owner"),
            *_custom_fields("lead"),
        ]

    def custom_entity(self) -> str:
        return "lead"

    def clean(self, row: Row, ctx: Context) -> None:
        from crm.leads.services import lead_clean

        raw = row.raw
        v = row.values
        data, notes, review = person_fields(row, ctx, "")
        if review:
            row.reject(_("需人工核实：%s") % review)
            return
        if not data["name"]:
            row.reject(_("缺少姓名"))
            return
        lead: dict[str, Any] = {
            k: data.get(k) or "" for k in ("name", "title", "mobile", "phone", "email", "wechat")
        }
        company = (raw.get("company") or "").strip()
        if company:
            try:
                lead["company"] = cleaning.company_name_tidy(company, ctx.settings).name
            except ValidationFailed:
                lead["company"] = company
        for key in ("source", "industry"):
            lead[key] = " ".join((raw.get(key) or "").split())
        region = cleaning.regions_clean(
            raw.get("province", ""), raw.get("city", ""), "", ctx.settings
        )
        row.messages.extend(region.messages)
        lead["province"], lead["city"] = region.province, region.city
        custom, custom_notes = custom_clean(row, ctx, "lead")
        lead["notes"] = "\n".join(
            x for x in [(raw.get("notes") or "").strip(), *notes, *custom_notes] if x
        )
        if not any(lead.get(k) for k in ("mobile", "phone", "email", "wechat")):
            row.reject(_("请至少有一种联系方式（手机、电话、邮箱或微信）"))
            return
        try:
            clean = lead_clean(lead)
        except ValidationFailed as exc:
            row.reject(validation_message(exc, self.labels(ctx)))
            return
        owner = owner_resolve(row, ctx, raw.get("owner", ""))
        if owner is not None:
            v["owner"] = owner.username
        v.update({k: val for k, val in clean.items() if val})
        if custom:
            v["custom"] = custom
        row.payload.update(lead=lead, clean=clean, custom=custom, owner=owner)

    def decide(self, rows: list[Row], ctx: Context) -> None:
        from crm.leads.models import Lead, LeadStatus

        pending = [r for r in rows if not r.action]
        mobiles = {
            r.payload["clean"]["mobile"] for r in pending if r.payload["clean"].get("mobile")
        }
        emails = {r.payload["clean"]["email"] for r in pending if r.payload["clean"].get("email")}
        open_statuses = [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED]
        existing: dict[str, Any] = {}
        for lead in Lead.objects.filter(status__in=open_statuses, mobile__in=mobiles).order_by(
            "pk"
        ):
            existing.setdefault(f"m:{lead.mobile}", lead)
        for lead in Lead.objects.filter(status__in=open_statuses, email__in=emails).order_by("pk"):
            existing.setdefault(f"e:{lead.email}", lead)
        labels = self.labels(ctx)
        for row in pending:
            c = row.payload["clean"]
            keys = ([f"m:{c['mobile']}"] if c.get("mobile") else []) + (
                [f"e:{c['email']}"] if c.get("email") else []
            )
            earlier = next((ctx.index[k] for k in keys if k in ctx.index), None)
            if earlier is not None:
                row.action = "skip"
                row.messages.append(_("与第 %d 行是同一线索（手机或邮箱相同），跳过") % earlier)
                continue
            found = next((existing[k] for k in keys if k in existing), None)
            for k in keys:
                ctx.index.setdefault(k, row.number)
            if found is None:
                if not owner_allowed(ctx, row.payload.get("owner")):
                    row.reject(_("只能把线索分配给自己或下属"))
                    continue
                row.action = "create"
                continue
            row.target_id = found.pk
            if ctx.mode == "skip":
                row.action = "skip"
                row.messages.append(
                    _("已有相同手机或邮箱的未关闭线索 #%d，按设置不做改动") % found.pk
                )
                continue
            if not can(ctx.actor, "edit", found):
                row.action = "duplicate"
                row.candidates.append(
                    {"id": found.pk, "score": 100, "reasons": [_("手机或邮箱相同")]}
                )
                row.messages.append(
                    _("已有相同手机或邮箱的未关闭线索（#%d），您无权修改") % found.pk
                )
                continue
            mine = {k: val for k, val in c.items() if k != "name"}
            current = {k: _json(getattr(found, k)) for k in mine}
            changes, kept = changes_for(current, mine, ctx.mode, labels)
            row.messages.extend(kept)
            if not changes:
                row.action = "skip"
                row.messages.append(_("线索已存在（#%d），信息一致，无需更新") % found.pk)
                continue
            row.action = "update" if ctx.mode == "update" else "merge"
            row.payload["changes"] = changes
            row.payload["found"] = found
            row.messages.append(
                _("线索已存在（#%(id)d），%(verb)s：%(f)s")
                % {
                    "id": found.pk,
                    "verb": _("更新") if ctx.mode == "update" else _("补充"),
                    "f": "、".join(labels.get(k, k) for k in changes),
                }
            )

    def write(self, rows: list[Row], ctx: Context) -> None:
        from crm.leads.services import lead_create, lead_update

        for row in rows:
            p = row.payload
            if row.action == "create":
                lead = safe_call(
                    row,
                    partial(
                        lead_create,
                        actor=ctx.actor,
                        data=p["lead"],
                        owner=p.get("owner"),
                        custom=p.get("custom") or None,
                    ),
                )
                if lead is not None:
                    row.target_id = lead.pk
                    row.created = {"lead": [lead.pk]}
            elif row.action in ("merge", "update"):
                found = p["found"]
                keys = list(p["changes"])
                data = {k: p["lead"].get(k) or p["clean"].get(k) for k in keys}
                before = {k: _json(getattr(found, k)) for k in keys}
                done = safe_call(
                    row,
                    partial(
                        lead_update,
                        actor=ctx.actor,
                        lead=found,
                        expected_version=found.version,
                        data=data,
                    ),
                )
                if done is not None:
                    row.changed = {
                        "lead": {
                            "id": found.pk,
                            "before": before,
                            "after": {k: _json(getattr(done, k)) for k in keys},
                        }
                    }

    def rollback(self, row: Any, actor: Any) -> list[str]:
        from crm.leads.models import Lead
        from crm.leads.services import lead_delete, lead_update

        problems: list[str] = []
        for lead in Lead.objects.filter(pk__in=(row.created or {}).get("lead", [])):
            lead_delete(actor=actor, lead=lead)
        change = (row.changed or {}).get("lead")
        if change:
            lead = Lead.objects.filter(pk=change["id"]).first()
            if lead is not None:
                revert, kept = _revert_values(lead, change)
                if kept:
                    problems.append(
                        _("第 %(r)d 行：%(f)s 在导入后又被修改，保留当前值")
                        % {"r": row.row, "f": "、".join(kept)}
                    )
                if revert:
                    lead_update(actor=actor, lead=lead, expected_version=None, data=revert)
        return problems


# ---------------------------------------------------------------- opportunities


def amount_text(text: str) -> str:
    """ "12万" / "1.5 万元" / "￥120,000" → "120000" (the service parses the number)."""
    t = unicodedata.normalize("NFKC", text or "").strip().replace(",", "").replace("元", "")
    t = t.replace("¥", "").replace("￥", "").strip()
    match = re.fullmatch(r"([0-9.]+)\s*(万|w|W)", t)
    if match:
        try:
            return str(Decimal(match.group(1)) * 10000)
        except InvalidOperation:
            return t
    return t


class OpportunityAdapter(Adapter):
    key = "opportunity"
    label = gettext_lazy("商机")
    model_path = "opportunities.Opportunity"
    order = 50

    def available(self) -> bool:
        return _services(
            "crm.opportunities.services",
            "opportunity_create",
            "opportunity_update",
            "opportunity_delete",
        )

    def fields(self) -> list[FieldDef]:
        return [
            FieldDef("customer", gettext_lazy("客户名称"), "company", required=True),
            FieldDef("customer_credit_code", gettext_lazy("客户统一社会信用代码"), "credit_code"),
            FieldDef("name", gettext_lazy("商机名称"), "deal_name", required=True),
            FieldDef("amount", gettext_lazy("金额"), "amount", help=gettext_lazy("可写 12万")),
            FieldDef("currency", gettext_lazy("币种"), "currency"),
            FieldDef("expected_close_date", gettext_lazy("预计成交日期"), "close_date"),
            FieldDef("pipeline", gettext_lazy("销售流程"), "pipeline"),
            FieldDef("stage", gettext_lazy("阶段"), "stage"),
            FieldDef("probability", gettext_lazy("赢率（%）"), "probability"),
            FieldDef("source", gettext_lazy("来源"), "source"),
            FieldDef("notes", gettext_lazy("备注"), "notes"),
            FieldDef("owner", gettext_lazy("负责人"), "owner"),
            *_custom_fields("opportunity"),
        ]

    def custom_entity(self) -> str:
        return "opportunity"

    def _pipelines(self, ctx: Context) -> dict[str, Any]:
        def build() -> dict[str, Any]:
            from crm.opportunities.models import Pipeline, Stage

            out: dict[str, Any] = {"pipelines": {}, "stages": {}}
            for p in Pipeline.objects.filter(is_active=True):
                out["pipelines"][p.name.lower()] = p
            for s in Stage.objects.filter(is_active=True, pipeline__is_active=True).select_related(
                "pipeline"
            ):
                out["stages"].setdefault(s.name.lower(), []).append(s)
            return out

        pipelines: dict[str, Any] = ctx.cached("pipelines", build)
        return pipelines

    def clean(self, row: Row, ctx: Context) -> None:
        from crm.opportunities.services import opportunity_clean

        raw = row.raw
        v = row.values
        customer = (raw.get("customer") or "").strip()
        code_text = (raw.get("customer_credit_code") or "").strip()
        code = ""
        if code_text:
            code, problem = cleaning.credit_code_try(code_text)
            if problem:
                row.messages.append(problem)
        if not customer and not code:
            row.reject(_("缺少客户名称或统一社会信用代码"))
            return
        if customer:
            try:
                v["customer"] = cleaning.company_name_tidy(customer, ctx.settings).name
            except ValidationFailed:
                v["customer"] = customer
        if code:
            v["customer_credit_code"] = code
        data: dict[str, Any] = {
            "name": (raw.get("name") or "").strip(),
            "amount": amount_text(raw.get("amount") or ""),
            "currency": (raw.get("currency") or "").strip().upper() or "CNY",
            "probability": (raw.get("probability") or "").strip(),
            "source": (raw.get("source") or "").strip(),
            "notes": (raw.get("notes") or "").strip(),
        }
        date_text = (raw.get("expected_close_date") or "").strip()
        if date_text:
            try:
                data["expected_close_date"] = cleaning.date_parse(date_text)
            except ValueError:
                row.reject(_("预计成交日期「%s」不是日期") % date_text[:20])
                return
        try:
            clean = opportunity_clean(data)
        except ValidationFailed as exc:
            row.reject(validation_message(exc, self.labels(ctx)))
            return
        tables = self._pipelines(ctx)
        pipeline = None
        pipeline_text = (raw.get("pipeline") or "").strip().lower()
        if pipeline_text:
            pipeline = tables["pipelines"].get(pipeline_text)
            if pipeline is None:
                row.reject(_("销售流程「%s」不存在") % raw["pipeline"][:30])
                return
        stage = None
        stage_text = (raw.get("stage") or "").strip().lower()
        if stage_text:
            candidates = [
                s
                for s in tables["stages"].get(stage_text, [])
                if pipeline is None or s.pipeline_id == pipeline.pk
            ]
            if not candidates:
                row.reject(_("阶段「%s」不存在") % raw["stage"][:30])
                return
            stage = candidates[0]
            pipeline = pipeline or stage.pipeline
        custom, custom_notes = custom_clean(row, ctx, "opportunity")
        if custom_notes:
            data["notes"] = "\n".join(x for x in [data["notes"], *custom_notes] if x)
        owner = owner_resolve(row, ctx, raw.get("owner", ""))
        v.update(
            {k: _json(val) for k, val in clean.items() if val not in (None, "", Decimal("0.00"))}
        )
        if pipeline:
            v["pipeline"] = pipeline.name
        if stage:
            v["stage"] = stage.name
        if owner is not None:
            v["owner"] = owner.username
        row.payload.update(
            data={
                **data,
                "pipeline": pipeline.pk if pipeline else None,
                "stage": stage.pk if stage else None,
            },
            custom=custom,
            owner=owner,
            company_key=company_name_key(v["customer"]) if v.get("customer") else "",
        )

    def decide(self, rows: list[Row], ctx: Context) -> None:
        from crm.customers.models import Customer
        from crm.opportunities.models import Opportunity

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
            name = row.payload["data"]["name"]
            key = f"o:{customer.pk}:{name}"
            if key in ctx.index:
                row.action = "skip"
                row.messages.append(_("与第 %d 行是同一商机，跳过") % ctx.index[key])
                continue
            ctx.index[key] = row.number
            same = Opportunity.objects.filter(customer=customer, name=name).first()
            if same is not None:
                row.action = "skip"
                row.target_id = same.pk
                row.messages.append(
                    _("客户「%(c)s」已有同名商机 #%(id)d，跳过")
                    % {"c": customer.name, "id": same.pk}
                )
                continue
            if not owner_allowed(ctx, row.payload.get("owner")):
                row.reject(_("只能把商机分配给自己或下属"))
                continue
            row.action = "create"
            row.messages.append(
                _("新商机，客户 #%(id)d %(n)s") % {"id": customer.pk, "n": customer.name}
            )

    def write(self, rows: list[Row], ctx: Context) -> None:
        from crm.opportunities.services import opportunity_create

        for row in rows:
            if row.action != "create":
                continue
            p = row.payload
            opp = safe_call(
                row,
                partial(
                    opportunity_create,
                    actor=ctx.actor,
                    customer=p["customer_obj"],
                    data=p["data"],
                    owner=p.get("owner"),
                    custom=p.get("custom") or None,
                ),
            )
            if opp is not None:
                row.target_id = opp.pk
                row.created = {"opportunity": [opp.pk]}

    def rollback(self, row: Any, actor: Any) -> list[str]:
        from crm.opportunities.models import Opportunity
        from crm.opportunities.services import opportunity_delete

        for opp in Opportunity.objects.filter(pk__in=(row.created or {}).get("opportunity", [])):
            opportunity_delete(actor=actor, opportunity=opp)
        return []


adapter_register(LeadAdapter())
adapter_register(OpportunityAdapter())
