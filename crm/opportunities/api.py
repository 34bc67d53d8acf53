"""Pipelines and opportunities (商机): /pipelines, /opportunities (+ /move, /contacts).

Thin: parse input, call one selector or service, render. Reads go through
crm.opportunities.selectors (the permission layer), writes through
crm.opportunities.services (the stage rules live there, shared with the pages and the
kanban), and records leave through crm.access.fieldsec.present().
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from crm.access import selectors as access_selectors
from crm.access.fieldsec import MASK, field_level, present
from crm.access.models import FieldAccess, User
from crm.core.apiutils import (
    ERRORS,
    ID_MAX,
    INT32_MAX,
    UNSET,
    Id,
    ListParams,
    Text,
    cursor_errors,
    enum_schema,
    page_limit,
)
from crm.core.errors import NotFound, StaleVersion, ValidationFailed
from crm.opportunities import selectors, services
from crm.opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageKind,
)

router = Router(tags=["opportunities"])

PIPELINES = ["pipelines"]
OPPORTUNITIES = ["opportunities"]

CustomInt = Annotated[int, Field(ge=-ID_MAX, le=ID_MAX)]
CustomValue = bool | CustomInt | float | Text | list[Text] | None
CustomIn = dict[Annotated[Text, Field(max_length=50)], CustomValue]
OWNER_PATTERN = r"^(me|team|[1-9][0-9]{0,17})$"
Money = Annotated[Decimal, Field(ge=0, lt=Decimal("1e14"), max_digits=16, decimal_places=2)]


def _resolve_user(actor: Any, pk: int | None, field: str) -> User | None:
    if pk is None:
        return None
    try:
        return access_selectors.user_get(actor=actor, user_id=pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _person(actor: Any, user: User | None) -> str | None:
    if user is None:
        return None
    shown = present(actor, user, ["display_name", "username"])
    return shown.get("display_name") or shown.get("username") or None


# ---------------------------------------------------------------- pipelines


class StageOut(Schema):
    id: int
    name: str
    order: int
    kind: str
    probability: int
    time_limit_days: int | None
    required_fields: list[str]
    checklist: list[str]
    is_active: bool


class PipelineOut(Schema):
    id: int
    name: str
    description: str
    is_default: bool
    is_active: bool
    order: int
    stages: list[StageOut]


def _stage_out(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.pk,
        "name": stage.name,
        "order": stage.order,
        "kind": stage.kind,
        "probability": stage.probability,
        "time_limit_days": stage.time_limit_days,
        "required_fields": list(stage.required_fields or []),
        "checklist": list(stage.checklist or []),
        "is_active": stage.is_active,
    }


def _pipeline_out(pipeline: Pipeline, stages: list[Stage]) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,
        "description": pipeline.description,
        "is_default": pipeline.is_default,
        "is_active": pipeline.is_active,
        "order": pipeline.order,
        "stages": [_stage_out(s) for s in stages],
    }


class PipelineParams(Schema):
    include_inactive: bool = Field(False, description="包括已停用的流程和阶段")


@router.get("/pipelines", response={200: list[PipelineOut], **ERRORS}, tags=PIPELINES)
def pipeline_list(request: HttpRequest, params: Query[PipelineParams]) -> list[dict[str, Any]]:
    """Every pipeline with its stages in order (open stages, then won, then lost)."""
    rows = selectors.pipelines_with_stages(
        actor=request.user, include_inactive=params.include_inactive
    )
    return [_pipeline_out(p, p.stage_rows) for p in rows]  # type: ignore[attr-defined]


@router.get("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, tags=PIPELINES)
def pipeline_detail(request: HttpRequest, pipeline_id: Id) -> dict[str, Any]:
    actor = request.user
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    return _pipeline_out(
        pipeline, selectors.stage_list(actor=actor, pipeline=pipeline, include_inactive=True)
    )


class StageIn(Schema):
    id: Id | None = Field(None, description="已有阶段的 id（更新时）；不填则新建")
    name: Text = Field(max_length=50)
    kind: Text = Field("open", max_length=10, json_schema_extra=enum_schema(StageKind.values))
    probability: int = Field(10, ge=0, le=100)
    time_limit_days: int | None = Field(None, ge=1, le=3650, description="停留时限（天）")
    required_fields: list[Annotated[Text, Field(max_length=60)]] = Field(
        default_factory=list,
        max_length=50,
        description="进入该阶段前必须填写的字段：amount、expected_close_date、contacts、"
        "competitors、source、notes 或 custom.<键>",
    )
    checklist: list[Annotated[Text, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20, description="离开该阶段（向前）前必须勾选的检查项"
    )
    is_active: bool = True


class PipelineCreateIn(Schema):
    name: Text = Field(max_length=50)
    description: Text = Field("", max_length=200)
    is_default: bool = False
    is_active: bool = True
    order: int | None = Field(None, ge=0, le=32767)
    stages: list[StageIn] = Field(default_factory=list, max_length=30)


class PipelinePatchIn(Schema):
    name: Text = Field(UNSET, max_length=50)
    description: Text = Field(UNSET, max_length=200)
    is_default: bool = Field(UNSET)
    is_active: bool = Field(UNSET)
    order: int = Field(UNSET, ge=0, le=32767)
    stages: list[StageIn] = Field(
        UNSET,
        max_length=30,
        description="阶段（按此顺序排列）：带 id 的更新，不带 id 的新建；未列出的阶段保持不变，排在后面",
    )


def _stage_data(row: StageIn) -> dict[str, Any]:
    return row.model_dump(exclude={"id"})


@router.post("/pipelines", response={201: PipelineOut, **ERRORS}, tags=PIPELINES)
def pipeline_create(request: HttpRequest, payload: PipelineCreateIn) -> Status:
    """Administrators only. Without stages it starts with 初步接洽 / 赢单 / 输单."""
    actor = request.user
    data = payload.model_dump(exclude={"stages"}, exclude_none=True)
    pipeline = services.pipeline_create(
        actor=actor,
        data=data,
        stages=[_stage_data(s) for s in payload.stages] or None,
    )
    return Status(201, pipeline_detail(request, pipeline.pk))


@router.patch("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, tags=PIPELINES)
def pipeline_update(request: HttpRequest, pipeline_id: Id, payload: PipelinePatchIn) -> dict:
    """Administrators only. Stage changes follow the stage rules of the services (a stage
    holding open opportunities cannot be deactivated, its kind cannot change…)."""
    actor = request.user
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    changes = payload.model_dump(exclude_unset=True)
    stage_rows = changes.pop("stages", None)
    services.pipeline_admin_save(
        actor=actor,
        pipeline=pipeline,
        data=changes,
        stages=[_stage_data(s) | {"id": s.id} for s in payload.stages]
        if stage_rows is not None
        else None,
    )
    return pipeline_detail(request, pipeline.pk)


# ---------------------------------------------------------------- opportunities: output


class ContactRoleOut(Schema):
    contact_id: int
    name: str | None = None
    title: str | None = None
    role: str


class StageRef(Schema):
    id: int
    name: str
    kind: str


class HistoryOut(Schema):
    at: dt.datetime
    actor_id: int | None
    actor: str | None
    from_stage: StageRef | None
    to_stage: StageRef
    seconds_in_from: int


class OpportunityOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    name: str | None = None
    amount: Decimal | str | None = None
    currency: str | None = None
    expected_close_date: dt.date | str | None = None
    probability: int | str | None = None
    probability_manual: bool
    weighted_amount: Decimal | str | None = None
    forecast_category: str | None = None
    competitors: str | None = None
    source: str | None = None
    lost_reason: str | None = None
    notes: str | None = None
    status: str
    customer_id: int
    customer: str | None = None
    pipeline_id: int
    pipeline: str
    stage_id: int
    stage: str
    stage_kind: str
    stage_entered_at: dt.datetime
    days_in_stage: int
    closed_at: dt.datetime | None = None
    owner_id: int | None = None
    owner: str | None = None
    source_lead_id: int | None = None
    checklist_done: dict[str, list[int]] = {}
    custom: dict[str, Any] = {}
    created_at: dt.datetime
    updated_at: dt.datetime


class OpportunityDetailOut(OpportunityOut):
    contacts: list[ContactRoleOut] = []
    history: list[HistoryOut] = []


class TotalsOut(Schema):
    count: int
    # Like the amounts they sum: "****" when the caller's amount field is masked, absent
    # when it is hidden.
    amount: Decimal | str | None = None
    weighted: Decimal | str | None = None


class OpportunityPageOut(Schema):
    items: list[OpportunityOut]
    next: str | None = None
    totals: TotalsOut | None = None


VALUE_FIELDS = [
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "forecast_category",
    "competitors",
    "source",
    "lost_reason",
    "notes",
]


def _opportunity_out(actor: Any, opp: Opportunity) -> dict[str, Any]:
    shown = present(actor, opp, VALUE_FIELDS)
    out: dict[str, Any] = {
        "id": opp.pk,
        "version": opp.version,
        **shown,
        "probability_manual": opp.probability_manual,
        "status": opp.status,
        "customer_id": opp.customer_id,
        "customer": present(actor, opp.customer, ["name"]).get("name"),
        "pipeline_id": opp.pipeline_id,
        "pipeline": opp.pipeline.name,
        "stage_id": opp.stage_id,
        "stage": opp.stage.name,
        "stage_kind": opp.stage.kind,
        "stage_entered_at": opp.stage_entered_at,
        "days_in_stage": max(0, (timezone.now() - opp.stage_entered_at).days),
        "closed_at": opp.closed_at,
        "source_lead_id": opp.source_lead_id,
        "checklist_done": opp.checklist_done or {},
        "custom": opp.custom or {},
        "created_at": opp.created_at,
        "updated_at": opp.updated_at,
    }
    if "amount" in shown and "probability" in shown and shown["amount"] == opp.amount:
        out["weighted_amount"] = opp.weighted_amount
    owner_level = field_level(actor, "opportunity", "owner")
    if owner_level not in (FieldAccess.HIDDEN, FieldAccess.MASKED, FieldAccess.REVEAL):
        out["owner_id"] = opp.owner_id
        out["owner"] = _person(actor, opp.owner)
    return out


def _opportunity_detail(actor: Any, opportunity_id: int) -> dict[str, Any]:
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    contacts = selectors.opportunity_contacts(actor=actor, opportunity=opp)
    history = selectors.stage_history(actor=actor, opportunity=opp)
    return {
        **_opportunity_out(actor, opp),
        "contacts": [
            {
                "contact_id": c["contact"].pk,
                "name": c.get("name"),
                "title": c.get("title"),
                "role": c["role"],
            }
            for c in contacts
        ],
        "history": [
            {
                "at": h.entry.at,
                "actor_id": h.entry.actor_id,
                "actor": _person(actor, h.entry.actor),
                "from_stage": _stage_ref(h.entry.from_stage),
                "to_stage": _stage_ref(h.entry.to_stage),
                "seconds_in_from": h.entry.seconds_in_from,
            }
            for h in history
        ],
    }


def _stage_ref(stage: Stage | None) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {"id": stage.pk, "name": stage.name, "kind": stage.kind}


# ---------------------------------------------------------------- opportunities: list


class OpportunityFilters(ListParams):
    q: Text | None = Field(None, max_length=100, description="商机名称、客户名称、拼音")
    pipeline: Id | None = None
    stage: Id | None = None
    owner: Text | None = Field(
        None, max_length=20, pattern=OWNER_PATTERN, description="me、team 或用户 id"
    )
    department: Id | None = Field(None, description="负责人所在部门（含下级部门）")
    status: Text | None = Field(
        None, max_length=10, json_schema_extra=enum_schema(OpportunityStatus.values)
    )
    close_month: Text | None = Field(
        None, pattern=r"^[0-9]{4}-[0-9]{2}$", description="预计成交月份 YYYY-MM"
    )
    amount_min: Money | None = None
    amount_max: Money | None = None
    customer: Id | None = None
    sort: Text | None = Field(
        None,
        max_length=30,
        json_schema_extra=enum_schema(list(selectors.OPPORTUNITY_SORTS)),
        description="排序，默认 -id",
    )
    totals: bool = Field(
        True,
        description="是否计算整个筛选结果的合计；翻页时传 false 可省去这次求和（数据多时约 1 秒）",
    )


@router.get(
    "/opportunities",
    response={200: OpportunityPageOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_list(request: HttpRequest, filters: Query[OpportunityFilters]) -> dict:
    """Visible opportunities, keyset-paginated, with the totals of the whole filtered set
    (count, amount, weighted amount = amount × probability) unless `totals=false`."""
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit", "totals"}, exclude_none=True)
    with cursor_errors(filters.cursor):
        page = selectors.opportunity_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    out: dict[str, Any] = {
        "items": [_opportunity_out(actor, o) for o in page.items],
        "next": page.next,
    }
    if not filters.totals:
        return out
    totals = selectors.opportunity_totals(actor=actor, filters=values)
    summed: dict[str, Any] = {"count": totals.count}
    level = field_level(actor, "opportunity", "amount")
    if level in (FieldAccess.MASKED, FieldAccess.REVEAL):
        summed.update(amount=MASK, weighted=MASK)
    elif level != FieldAccess.HIDDEN:
        summed.update(amount=totals.amount, weighted=totals.weighted)
    return {**out, "totals": summed}


# ---------------------------------------------------------------- opportunities: write


class ContactRoleIn(Schema):
    contact_id: Id
    role: Text = Field("", max_length=50, description="如 决策人、技术评估、采购")


class OpportunityCreateIn(Schema):
    customer_id: Id
    name: Text = Field(max_length=200)
    amount: Money = Decimal("0")
    currency: Text = Field("CNY", max_length=3)
    expected_close_date: dt.date | None = None
    pipeline_id: Id | None = Field(None, description="默认：默认流程")
    stage_id: Id | None = Field(None, description="默认：流程的第一个阶段")
    probability: int | None = Field(None, ge=0, le=100, description="不填则取阶段的赢率")
    forecast_category: Text = Field(
        "pipeline", max_length=10, json_schema_extra=enum_schema(ForecastCategory.values)
    )
    competitors: Text = Field("", max_length=300)
    source: Text = Field("", max_length=50)
    lost_reason: Text = Field("", max_length=300)
    notes: Text = Field("", max_length=5000)
    owner_id: Id | None = Field(None, description="负责人，默认自己")
    contacts: list[ContactRoleIn] = Field(default_factory=list, max_length=50)
    custom: CustomIn = Field(default_factory=dict, max_length=200)


def _contacts_in(actor: Any, rows: list[ContactRoleIn]) -> list[tuple[Any, str]]:
    out = []
    for i, row in enumerate(rows):
        try:
            contact = selectors.contact_for_opportunity(actor=actor, contact_id=row.contact_id)
        except NotFound as exc:
            raise ValidationFailed(
                _("所选记录不存在或您无权查看"), field=f"contacts.{i}.contact_id"
            ) from exc
        out.append((contact, row.role))
    return out


@router.post(
    "/opportunities",
    response={201: OpportunityDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_create(request: HttpRequest, payload: OpportunityCreateIn) -> Status:
    """A new opportunity (by default on the first stage of the default pipeline). Created
    directly in a later stage, the required fields of the stages up to it must be given."""
    actor = request.user
    try:
        customer = selectors.customer_for_opportunity(actor=actor, customer_id=payload.customer_id)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field="customer_id") from exc
    data = payload.model_dump(
        exclude={"customer_id", "owner_id", "contacts", "custom", "pipeline_id", "stage_id"}
    )
    data["pipeline"] = payload.pipeline_id
    data["stage"] = payload.stage_id
    opp = services.opportunity_create(
        actor=actor,
        customer=customer,
        data=data,
        contacts=_contacts_in(actor, payload.contacts),
        owner=_resolve_user(actor, payload.owner_id, "owner_id"),
        custom=payload.custom,
    )
    return Status(201, _opportunity_detail(actor, opp.pk))


@router.get(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_detail(request: HttpRequest, opportunity_id: Id) -> dict:
    return _opportunity_detail(request.user, opportunity_id)


class OpportunityPatchIn(Schema):
    """Only the fields sent are changed; `version` is the one the client loaded. The stage
    changes through POST /opportunities/{id}/move (with the stage rules)."""

    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=200)
    amount: Money = Field(UNSET)
    currency: Text = Field(UNSET, max_length=3)
    expected_close_date: dt.date | None = Field(UNSET)
    probability: int | None = Field(UNSET, ge=0, le=100, description="null：重新取阶段的赢率")
    forecast_category: Text = Field(UNSET, max_length=10)
    competitors: Text = Field(UNSET, max_length=300)
    source: Text = Field(UNSET, max_length=50)
    lost_reason: Text = Field(UNSET, max_length=300)
    notes: Text = Field(UNSET, max_length=5000)
    owner_id: Id = Field(UNSET)
    custom: CustomIn = Field(
        UNSET, max_length=200, description="只改动所给的键；某键为 null 时清空该值"
    )


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_update(
    request: HttpRequest, opportunity_id: Id, payload: OpportunityPatchIn
) -> dict:
    """A stale `version` is refused with 409 and the record's current values in `current`."""
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    custom = changes.pop("custom", None)
    owner_id = changes.pop("owner_id", None)
    try:
        services.opportunity_update(
            actor=actor,
            opportunity=opp,
            expected_version=version,
            data=changes,
            custom=custom,
            owner=_resolve_user(actor, owner_id, "owner_id"),
        )
    except StaleVersion as exc:
        current = _opportunity_detail(actor, opportunity_id)
        raise StaleVersion(exc.message, current=current) from exc
    return _opportunity_detail(actor, opportunity_id)


@router.delete(
    "/opportunities/{opportunity_id}", response={204: None, **ERRORS}, tags=OPPORTUNITIES
)
def opportunity_delete(request: HttpRequest, opportunity_id: Id) -> Status:
    """To the recycle bin (restorable)."""
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    services.opportunity_delete(actor=actor, opportunity=opp)
    return Status(204, None)


class MoveIn(Schema):
    stage_id: Id
    version: int | None = Field(
        None, ge=0, le=INT32_MAX, description="客户端看到的版本；不填则不检查并发修改"
    )
    lost_reason: Text = Field("", max_length=300, description="移到输单阶段时必填")
    amount: Money = Field(UNSET)
    expected_close_date: dt.date | None = Field(UNSET)
    competitors: Text = Field(UNSET, max_length=300)
    source: Text = Field(UNSET, max_length=50)
    notes: Text = Field(UNSET, max_length=5000)
    probability: int | None = Field(UNSET, ge=0, le=100)
    custom: CustomIn = Field(UNSET, max_length=200)
    contacts: list[ContactRoleIn] = Field(
        default_factory=list, max_length=50, description="同时加入商机的联系人及角色"
    )
    checklist: list[Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=list, max_length=20, description="勾选当前阶段的检查项（序号，从 0 起）"
    )
    checklists: dict[str, list[Annotated[int, Field(ge=0, le=100)]]] = Field(
        default_factory=dict,
        max_length=30,
        description="{阶段 id: [检查项序号]}：勾选任一阶段的检查项",
    )


@router.post(
    "/opportunities/{opportunity_id}/move",
    response={200: OpportunityDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_move(request: HttpRequest, opportunity_id: Id, payload: MoveIn) -> dict:
    """Move to another stage of the same pipeline, with the stage rules: moving forward is
    refused (422) until the required fields of every stage entered are filled and the
    checklist of every stage left is ticked; `errors` lists each missing field ("amount",
    "custom.<key>", "contacts", "lost_reason") and item ("checklist.<stage id>.<index>").
    Fields, contacts and ticks sent along are saved with the move."""
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    sent = payload.model_dump(exclude_unset=True)
    data: dict[str, Any] = {
        k: sent[k]
        for k in ("amount", "expected_close_date", "competitors", "source", "notes", "probability")
        if k in sent
    }
    if payload.contacts:
        data["contacts"] = _contacts_in(actor, payload.contacts)
    try:
        services.opportunity_move(
            actor=actor,
            opportunity=opp,
            stage=payload.stage_id,
            expected_version=payload.version,
            data=data,
            custom=sent.get("custom"),
            checklist=payload.checklist,
            checklists=payload.checklists,
            lost_reason=payload.lost_reason,
        )
    except StaleVersion as exc:
        current = _opportunity_detail(actor, opportunity_id)
        raise StaleVersion(exc.message, current=current) from exc
    return _opportunity_detail(actor, opportunity_id)


class ChecklistIn(Schema):
    stage_id: Id
    index: int = Field(ge=0, le=100)
    done: bool = True


@router.post(
    "/opportunities/{opportunity_id}/checklist",
    response={200: OpportunityDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OPPORTUNITIES,
)
def opportunity_checklist(request: HttpRequest, opportunity_id: Id, payload: ChecklistIn) -> dict:
    """Tick or untick one checklist item of a stage."""
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    services.opportunity_checklist_tick(
        actor=actor, opportunity=opp, stage=payload.stage_id, index=payload.index, done=payload.done
    )
    return _opportunity_detail(actor, opportunity_id)


# ---------------------------------------------------------------- contacts with roles


@router.get(
    "/opportunities/{opportunity_id}/contacts",
    response={200: list[ContactRoleOut], **ERRORS},
    tags=OPPORTUNITIES,
)
def opportunity_contact_list(request: HttpRequest, opportunity_id: Id) -> list[dict[str, Any]]:
    return _opportunity_detail(request.user, opportunity_id)["contacts"]


class RoleIn(Schema):
    role: Text = Field("", max_length=50)


@router.put(
    "/opportunities/{opportunity_id}/contacts/{contact_id}",
    response={200: list[ContactRoleOut], **ERRORS},
    tags=OPPORTUNITIES,
)
def opportunity_contact_set(
    request: HttpRequest, opportunity_id: Id, contact_id: Id, payload: RoleIn
) -> list[dict[str, Any]]:
    """Add a contact of the customer to the deal, or change their role."""
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    ((contact, _role),) = _contacts_in(
        actor, [ContactRoleIn(contact_id=contact_id, role=payload.role)]
    )
    services.opportunity_contact_set(
        actor=actor, opportunity=opp, contact=contact, role=payload.role
    )
    return opportunity_contact_list(request, opportunity_id)


@router.delete(
    "/opportunities/{opportunity_id}/contacts/{contact_id}",
    response={204: None, **ERRORS},
    tags=OPPORTUNITIES,
)
def opportunity_contact_remove(request: HttpRequest, opportunity_id: Id, contact_id: Id) -> Status:
    actor = request.user
    opp = selectors.opportunity_get(actor=actor, opportunity_id=opportunity_id)
    services.opportunity_contact_remove(actor=actor, opportunity=opp, contact_id=contact_id)
    return Status(204, None)
