"""The forecast and sales targets: /api/v1/forecast, /api/v1/forecast/targets.

Thin: reads through crm.forecast.selectors (the actor's opportunity scope), writes through
crm.forecast.services (managers set their reports' and departments' targets)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel, ConfigDict, model_validator

from crm.access.models import Department, User
from crm.access.visibility import visible_get
from crm.core.apiutils import ERRORS, Id, ListParams, PageOut, Text, page_out, paginate_api
from crm.core.errors import NotFound, ValidationFailed
from crm.forecast import selectors, services
from crm.forecast.models import SalesTarget

router = Router(tags=["forecast"])

MONTH = r"^[0-9]{4}-[0-9]{2}$"


# ---------------------------------------------------------------- the forecast


class ForecastParams(Schema):
    period: Text | None = Field(
        None,
        max_length=20,
        description="this_quarter（默认）、next_quarter、this_year、next_12、custom",
        json_schema_extra={"enum": list(selectors.PERIODS)},
    )
    from_: Text | None = Field(
        None, alias="from", max_length=7, pattern=MONTH, description="开始月份 YYYY-MM（自定义）"
    )
    to: Text | None = Field(
        None, max_length=7, pattern=MONTH, description="结束月份 YYYY-MM（自定义）"
    )
    group: Text = Field(
        "owner",
        max_length=10,
        description="owner（按销售）、team（按团队/部门）、month（按月份）",
        json_schema_extra={"enum": list(selectors.GROUPS)},
    )
    pipeline: Id | None = Field(None, description="销售流程 id")
    owner: Text | None = Field(
        None, max_length=20, pattern=r"^(me|[1-9][0-9]{0,17})$", description="me 或用户 id"
    )
    team: Id | None = Field(None, description="部门 id（含下级部门）")


# Plain pydantic models, not ninja Schemas: a director's forecast has a row per owner
# (a thousand or more), and ninja's per-attribute getter made serialising it slower than
# computing it. Amounts are decimal strings (yuan, two places), as elsewhere in the API.
Money = str | None


class FiguresOut(BaseModel):
    open_amount: Money = Field(None, description="进行中商机金额（含“不计入”），元")
    open_count: int
    weighted: Money = Field(None, description="加权金额：Σ 金额 × 赢率 ÷ 100（不含“不计入”）")
    pipeline: Money = Field(None, description="管道：管道 + 乐观 + 承诺")
    best: Money = Field(None, description="乐观：乐观 + 承诺")
    commit: Money = Field(None, description="承诺")
    won: Money = Field(None, description="当期赢单金额（按赢单月份）")
    won_count: int
    target: Money = None
    attainment: Money = Field(None, description="达成率 %：赢单 ÷ 目标 × 100，一位小数")


class RowOut(FiguresOut):
    key: str = Field(description="owner:<id>、team:<id>（team:none 为未分配部门）或 month:YYYY-MM")
    label: str
    owner_id: int | None = None
    team_id: int | None = None
    month: str | None = None


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    key: str
    from_: str = Field(..., alias="from")
    to: str
    months: list[str]


class ForecastOut(BaseModel):
    period: PeriodOut
    group: str
    currency: str = "CNY"
    amounts_visible: bool = Field(description="false：无权查看金额，金额字段为 null")
    rows: list[RowOut]
    months: list[RowOut]
    totals: FiguresOut


def _figures(figures: selectors.Figures, amounts: bool) -> dict[str, Any]:
    return {
        k: (None if v is None else str(v)) if k not in ("open_count", "won_count") else v
        for k, v in figures.as_dict(amounts=amounts).items()
    }


def _row_out(row: selectors.ForecastRow, amounts: bool) -> dict[str, Any]:
    return {
        "key": row.key,
        "label": row.label,
        "owner_id": row.owner_id,
        "team_id": row.team_id,
        "month": f"{row.month:%Y-%m}" if row.month else None,
        **_figures(row.figures, amounts),
    }


@router.get(
    "/forecast",
    response={200: ForecastOut, **ERRORS},
    by_alias=True,
    tags=["forecast"],
)
def forecast(request: HttpRequest, params: Query[ForecastParams]) -> dict:
    """The sales forecast of the caller's opportunity scope (own / team / all), per owner,
    team or month, with totals: open pipeline, weighted pipeline, commit / best (cumulative:
    best includes commit), won (by the month won), target and attainment."""
    period = selectors.period_resolve(
        period=params.period, month_from=params.from_, month_to=params.to
    )
    fc = selectors.forecast(
        actor=request.user,
        period=period,
        group=params.group,
        pipeline=params.pipeline,
        owner=params.owner,
        team=params.team,
    )
    amounts = fc.amounts_visible
    return {
        "period": {
            "key": period.key,
            "from": f"{period.first:%Y-%m}",
            "to": f"{period.last:%Y-%m}",
            "months": [f"{m:%Y-%m}" for m in period.months],
        },
        "group": fc.group,
        "currency": "CNY",
        "amounts_visible": amounts,
        "rows": [_row_out(r, amounts) for r in fc.rows],
        "months": [_row_out(r, amounts) for r in fc.months],
        "totals": _figures(fc.totals, amounts),
    }


# ---------------------------------------------------------------- targets


class TargetOut(Schema):
    id: int
    user_id: int | None = None
    user: str | None = None
    department_id: int | None = None
    department: str | None = None
    month: str
    amount: Decimal
    updated_at: dt.datetime


class TargetFilters(ListParams):
    year: int | None = Field(None, ge=2000, le=2100)
    user_id: Text | None = Field(None, max_length=20, pattern=r"^(me|[1-9][0-9]{0,17})$")
    department_id: Id | None = None


class TargetIn(Schema):
    user_id: Id | None = Field(None, description="销售（与 department_id 二选一）")
    department_id: Id | None = Field(None, description="部门（与 user_id 二选一）")
    month: Text = Field(..., max_length=7, pattern=MONTH, description="YYYY-MM")
    amount: Decimal | None = Field(
        None, ge=0, max_digits=16, decimal_places=2, description="目标金额（元）；null 删除该月目标"
    )

    @model_validator(mode="after")
    def _one_owner(self) -> TargetIn:
        if (self.user_id is None) == (self.department_id is None):
            raise ValueError(_("user_id 与 department_id 须且只能填一个"))
        return self


def _target_out(t: SalesTarget) -> dict[str, Any]:
    return {
        "id": t.pk,
        "user_id": t.user_id,
        "user": t.user.name if t.user_id and t.user else None,
        "department_id": t.department_id,
        "department": t.department.name if t.department_id and t.department else None,
        "month": f"{t.month:%Y-%m}",
        "amount": t.amount,
        "updated_at": t.updated_at,
    }


@router.get(
    "/forecast/targets",
    response={200: PageOut[TargetOut], **ERRORS},
    tags=["forecast"],
)
def target_list(request: HttpRequest, filters: Query[TargetFilters]) -> dict:
    """Targets the caller may see (their own; a manager's team's; departments at or below
    the caller's), oldest month first."""
    qs = selectors.target_list(
        actor=request.user,
        year=filters.year,
        user=filters.user_id,
        department=filters.department_id,
    )
    page = paginate_api(qs, ordering=("month", "id"), cursor=filters.cursor, limit=filters.limit)
    return page_out(page, _target_out)


def _resolve(model: type, field: str, pk: int | None, actor: Any) -> Any:
    if pk is None:
        return None
    try:
        return visible_get(actor, model, pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


@router.post(
    "/forecast/targets",
    response={200: TargetOut, 204: None, **ERRORS},
    tags=["forecast"],
)
def target_set(request: HttpRequest, body: TargetIn) -> Any:
    """Set a person's or a department's target for one month (200), or remove it with
    `"amount": null` (204). Managers: their reports and their department's subtree (403
    otherwise); sales reps cannot set targets."""
    actor = request.user
    target = services.target_set(
        actor=actor,
        user=_resolve(User, "user_id", body.user_id, actor),
        department=_resolve(Department, "department_id", body.department_id, actor),
        month=body.month,
        amount=body.amount,
    )
    if target is None:
        return Status(204, None)
    return _target_out(target)


@router.delete(
    "/forecast/targets/{target_id}",
    response={204: None, **ERRORS},
    tags=["forecast"],
)
def target_delete(request: HttpRequest, target_id: Id) -> Any:
    """Remove a target (404 when the caller cannot see it, 403 when they may not set it)."""
    target = selectors.target_get(actor=request.user, target_id=target_id)
    services.target_delete(actor=request.user, target=target)
    return Status(204, None)
