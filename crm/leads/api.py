"""Leads: list, create, read, change, delete, status, claim, assign and convert.

Thin: parse input, call one selector or service, render. Values leave through field
security (crm.access.fieldsec.present); a lead outside the caller's scope is a 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from crm.access.fieldsec import present
from crm.core.apiutils import (
    ERRORS,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    cursor_errors,
    enum_schema,
    page_limit,
    page_out,
)
from crm.core.errors import NotFound, StaleVersion, ValidationFailed
from crm.leads import selectors, services
from crm.leads.models import Lead, LeadStatus

router = Router(tags=["leads"])

LEAD_VALUES = [*services.LEAD_FIELDS, "status", "disqualify_reason"]
OWNER_PATTERN = r"^(me|team|pool|any|[1-9][0-9]{0,17})$"
CustomValue = bool | int | float | Text | list[Text] | None
CustomIn = dict[Annotated[Text, Field(max_length=50)], CustomValue]


# ---------------------------------------------------------------- output


class AssignmentOut(Schema):
    at: dt.datetime
    user_id: int | None
    user: str | None
    rule: str
    reason: str
    actor: str | None


class LeadOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    name: str | None = None
    company: str | None = None
    title: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    source: str | None = None
    province: str | None = None
    city: str | None = None
    industry: str | None = None
    notes: str | None = None
    status: str | None = None
    disqualify_reason: str | None = None
    owner_id: int | None = None
    owner: str | None = None
    in_pool: bool
    assigned_at: dt.datetime | None = None
    custom: dict[str, Any] = {}
    converted_at: dt.datetime | None = None
    converted_customer_id: int | None = None
    converted_contact_id: int | None = None
    converted_opportunity_id: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class DuplicateOut(Schema):
    id: int | None = None
    name: str = ""
    owner: str
    status: str


class LeadDetailOut(LeadOut):
    assignments: list[AssignmentOut] = []
    duplicates: list[DuplicateOut] = []


def _lead_out(actor: Any, lead: Lead) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": lead.pk,
        "version": lead.version,
        **present(actor, lead, LEAD_VALUES),
        "in_pool": lead.owner_id is None,
        "assigned_at": lead.assigned_at,
        "custom": lead.custom or {},
        "converted_at": lead.converted_at,
        "converted_customer_id": lead.converted_customer_id,
        "converted_contact_id": lead.converted_contact_id,
        "converted_opportunity_id": lead.converted_opportunity_id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }
    if "owner" in present(actor, lead, ["owner"]):
        out["owner_id"] = lead.owner_id
        out["owner"] = lead.owner.name if lead.owner else None
    return out


def _duplicates(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": d["id"] if d["visible"] else None,
            "name": d["name"],
            "owner": d["owner"],
            "status": d["status"],
        }
        for d in items
    ]


def _lead_detail(actor: Any, lead_id: int) -> dict[str, Any]:
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    assignments = [
        {
            "at": a.at,
            "user_id": a.user_id,
            "user": a.user.name if a.user else None,
            "rule": a.rule_name,
            "reason": a.reason,
            "actor": a.actor.name if a.actor else None,
        }
        for a in selectors.lead_assignments(lead=lead)
    ]
    dups = selectors.lead_duplicates(actor=actor, lead=lead) if lead.is_open else []
    return {
        **_lead_out(actor, lead),
        "assignments": assignments,
        "duplicates": _duplicates(dups),
    }


# ---------------------------------------------------------------- list


class LeadFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="姓名、公司、拼音、电话、邮箱")
    status: Text | None = Field(
        None,
        max_length=20,
        json_schema_extra=enum_schema(["open", *LeadStatus.values]),
        description="open：未关闭（新线索、已联系、已确认）",
    )
    source: Text | None = Field(None, max_length=50)
    province: Text | None = Field(None, max_length=20)
    industry: Text | None = Field(None, max_length=100)
    owner: Text | None = Field(
        None,
        max_length=20,
        pattern=OWNER_PATTERN,
        description="me、team、pool（线索池）、any（含线索池）或用户 id；默认：有负责人的线索",
    )
    sort: Text | None = Field(
        None, max_length=20, json_schema_extra=enum_schema(list(selectors.LEAD_SORTS))
    )


@router.get(
    "/leads", response={200: PageOut[LeadOut], **ERRORS}, exclude_unset=True, tags=["leads"]
)
def lead_list(request: HttpRequest, filters: Query[LeadFilters]) -> dict:
    """Leads the caller may see (a rep: own leads; owner=pool for the pool), newest first."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.lead_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda lead: _lead_out(actor, lead))


# ---------------------------------------------------------------- create / change


class LeadCreateIn(Schema):
    name: Text = Field(max_length=100)
    company: Text = Field("", max_length=200)
    title: Text = Field("", max_length=100)
    mobile: Text = Field("", max_length=40)
    phone: Text = Field("", max_length=40)
    email: Text = Field("", max_length=254)
    wechat: Text = Field("", max_length=100)
    source: Text = Field("", max_length=50)
    province: Text = Field("", max_length=20, description="广东、广东省、Guangdong 都可以")
    city: Text = Field("", max_length=30)
    industry: Text = Field("", max_length=100)
    notes: Text = Field("", max_length=5000)
    custom: CustomIn = Field(default_factory=dict, max_length=200)
    owner_id: Id | None = Field(None, description="负责人（主管分配给团队成员）；默认自己")
    auto_assign: bool = Field(False, description="true：按分配规则决定负责人")
    refuse_duplicate: bool = Field(
        False,
        description="true：已有相同手机或邮箱的未关闭线索时返回 409（默认只在 duplicates 中提示）",
    )


class LeadPatchIn(Schema):
    """Only the fields sent are changed; `version` is the one the client loaded."""

    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=100)
    company: Text = Field(UNSET, max_length=200)
    title: Text = Field(UNSET, max_length=100)
    mobile: Text = Field(UNSET, max_length=40)
    phone: Text = Field(UNSET, max_length=40)
    email: Text = Field(UNSET, max_length=254)
    wechat: Text = Field(UNSET, max_length=100)
    source: Text = Field(UNSET, max_length=50)
    province: Text = Field(UNSET, max_length=20)
    city: Text = Field(UNSET, max_length=30)
    industry: Text = Field(UNSET, max_length=100)
    notes: Text = Field(UNSET, max_length=5000)
    custom: CustomIn = Field(UNSET, max_length=200)
    status: Text = Field(
        UNSET,
        max_length=20,
        json_schema_extra=enum_schema([s for s in LeadStatus.values if s != "converted"]),
        description="状态变更；改为 disqualified 时必须给 reason",
    )
    reason: Text = Field(UNSET, max_length=200, description="无效原因（status=disqualified）")


def _user(actor: Any, pk: int | None) -> Any:
    if pk is None:
        return None
    from crm.access.selectors import user_get

    try:
        return user_get(actor=actor, user_id=pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选用户不存在或您无权查看"), field="owner_id") from exc


@router.post("/leads", response={201: LeadDetailOut, **ERRORS}, exclude_unset=True)
def lead_create(request: HttpRequest, payload: LeadCreateIn) -> Status:
    """Create a lead. Same mobile or email as an open lead: listed in `duplicates` (or 409
    with `existing_id` when refuse_duplicate). auto_assign runs the assignment rules."""
    actor = request.user
    data = payload.model_dump(
        exclude_unset=True,
        exclude={"custom", "owner_id", "auto_assign", "refuse_duplicate"},
    )
    lead = services.lead_create(
        actor=actor,
        data=data,
        custom=payload.custom,
        owner=_user(actor, payload.owner_id),
        auto_assign=payload.auto_assign,
        refuse_duplicate=payload.refuse_duplicate,
    )
    hits = [services.lead_duplicate_describe(actor, d) for d in lead.duplicate_hits]  # type: ignore[attr-defined]
    try:
        body = _lead_detail(actor, lead.pk)
    except NotFound:
        # Given to someone else or to the pool the caller cannot see: say only that.
        body = {
            "id": lead.pk,
            "version": lead.version,
            "in_pool": lead.owner_id is None,
            "created_at": lead.created_at,
            "updated_at": lead.updated_at,
        }
    body["duplicates"] = _duplicates(hits)
    return Status(201, body)


@router.get("/leads/{lead_id}", response={200: LeadDetailOut, **ERRORS}, exclude_unset=True)
def lead_detail(request: HttpRequest, lead_id: Id) -> dict:
    """The lead with its assignment log (each with the rule that made it)."""
    return _lead_detail(request.user, lead_id)


@router.patch("/leads/{lead_id}", response={200: LeadDetailOut, **ERRORS}, exclude_unset=True)
def lead_update(request: HttpRequest, lead_id: Id, payload: LeadPatchIn) -> dict:
    """Change fields and/or the status. A stale `version` is a 409 with `current`."""
    actor = request.user
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    custom = changes.pop("custom", None)
    status = changes.pop("status", None)
    reason = changes.pop("reason", "")
    try:
        if changes or custom:
            services.lead_update(
                actor=actor, lead=lead, expected_version=version, data=changes, custom=custom
            )
            version = lead.version
        if status is not None:
            services.lead_status_change(
                actor=actor, lead=lead, status=status, reason=reason, expected_version=version
            )
    except StaleVersion as exc:
        raise StaleVersion(exc.message, current=_lead_detail(actor, lead_id)) from exc
    return _lead_detail(actor, lead_id)


@router.delete("/leads/{lead_id}", response={204: None, **ERRORS})
def lead_delete(request: HttpRequest, lead_id: Id) -> Status:
    """To the recycle bin (restorable)."""
    actor = request.user
    services.lead_delete(actor=actor, lead=selectors.lead_get(actor=actor, lead_id=lead_id))
    return Status(204, None)


class AssignIn(Schema):
    owner_id: Id | None = Field(None, description="分配给此人；不填且 by_rules=false 时退回线索池")
    by_rules: bool = Field(False, description="true：按分配规则重新分配")
    reason: Text = Field("", max_length=200)


@router.post("/leads/{lead_id}/claim", response={200: LeadDetailOut, **ERRORS}, exclude_unset=True)
def lead_claim(request: HttpRequest, lead_id: Id) -> dict:
    """Take a lead from the pool."""
    actor = request.user
    services.lead_claim(actor=actor, lead=selectors.lead_get(actor=actor, lead_id=lead_id))
    return _lead_detail(actor, lead_id)


@router.post("/leads/{lead_id}/assign", response={200: LeadDetailOut, **ERRORS}, exclude_unset=True)
def lead_assign(request: HttpRequest, lead_id: Id, payload: AssignIn) -> dict:
    """A manager assigns (or runs the rules, or returns to the pool with a reason)."""
    actor = request.user
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    if payload.by_rules:
        services.lead_assign_bulk(actor=actor, lead_ids=[lead.pk], by_rules=True)
    elif payload.owner_id:
        services.lead_assign(
            actor=actor, lead=lead, user=_user(actor, payload.owner_id), reason=payload.reason
        )
    else:
        services.lead_release(actor=actor, lead=lead, reason=payload.reason)
    return _lead_detail(actor, lead_id)


# ---------------------------------------------------------------- convert


class ConvertCustomerIn(Schema):
    id: Id | None = Field(None, description="关联已有客户（不填则新建）")
    name: Text = Field("", max_length=200, description="新客户名称；默认线索的公司或姓名")
    credit_code: Text = Field("", max_length=64)
    industry: Text = Field("", max_length=100)
    province: Text = Field("", max_length=20)
    city: Text = Field("", max_length=30)
    level: Text = Field("", max_length=20)


class ConvertContactIn(Schema):
    mode: Text = Field("new", max_length=10, json_schema_extra=enum_schema(["new", "link", "none"]))
    id: Id | None = Field(None, description="mode=link：客户的已有联系人")
    name: Text = Field("", max_length=100, description="默认线索姓名")
    title: Text = Field("", max_length=100)
    mobile: Text = Field("", max_length=40)
    email: Text = Field("", max_length=254)


class ConvertOpportunityIn(Schema):
    name: Text = Field(max_length=200)
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    expected_close_date: dt.date | None = None


class ConvertIn(Schema):
    version: int | None = Field(None, ge=0, le=INT32_MAX)
    customer: ConvertCustomerIn | None = Field(None, description="不填：按线索新建客户")
    contact: ConvertContactIn | None = Field(None, description="不填：按线索新建联系人")
    opportunity: ConvertOpportunityIn | None = None


class ConvertOut(Schema):
    lead: LeadDetailOut
    customer_id: int
    contact_id: int | None
    opportunity_id: int | None


@router.post("/leads/{lead_id}/convert", response={200: ConvertOut, **ERRORS})
def lead_convert(request: HttpRequest, lead_id: Id, payload: ConvertIn) -> dict:
    """One step: customer (new or `customer.id`), contact (new, link or none), optional
    opportunity. A new customer is checked like registration: an existing one is a 409
    with `existing_id` (send `customer.id` to link it). Converting twice is a 409."""
    actor = request.user
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    customer_in = payload.customer or ConvertCustomerIn.model_validate({})
    contact_in = payload.contact or ConvertContactIn.model_validate({})
    customer = None
    if customer_in.id:
        try:
            customer = selectors.convert_customer_get(actor=actor, customer_id=customer_in.id)
        except NotFound as exc:
            raise ValidationFailed(_("所选客户不存在或您无权查看"), field="customer.id") from exc
    contact = None
    if contact_in.mode == "link":
        if not contact_in.id:
            raise ValidationFailed(_("请选择联系人"), field="contact.id")
        try:
            contact = selectors.convert_contact_get(actor=actor, contact_id=contact_in.id)
        except NotFound as exc:
            raise ValidationFailed(_("所选联系人不存在或您无权查看"), field="contact.id") from exc
    elif contact_in.mode not in ("new", "none"):
        raise ValidationFailed(_("联系人方式只能是 new、link 或 none"), field="contact.mode")
    customer_data = {
        k: v for k, v in customer_in.model_dump(exclude={"id"}).items() if v not in ("", None)
    }
    contact_data = {
        k: v
        for k, v in contact_in.model_dump(exclude={"mode", "id"}).items()
        if v not in ("", None)
    }
    opp = payload.opportunity
    opportunity_data: dict[str, Any] | None = None
    if opp is not None:
        opportunity_data = {"name": opp.name}
        if opp.pipeline_id:
            opportunity_data["pipeline"] = opp.pipeline_id
        if opp.stage_id:
            opportunity_data["stage"] = opp.stage_id
        if opp.amount is not None:
            opportunity_data["amount"] = opp.amount
        if opp.expected_close_date:
            opportunity_data["expected_close_date"] = opp.expected_close_date
    result = services.lead_convert(
        actor=actor,
        lead=lead,
        customer=customer,
        customer_data=customer_data,
        contact=contact,
        contact_data=contact_data,
        create_contact=contact_in.mode != "none",
        opportunity_data=opportunity_data,
        expected_version=payload.version,
    )
    return {
        "lead": _lead_detail(actor, lead_id),
        "customer_id": result.customer.pk,
        "contact_id": result.contact.pk if result.contact else None,
        "opportunity_id": result.opportunity.pk if result.opportunity is not None else None,
    }
