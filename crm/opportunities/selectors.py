"""Every read of opportunities and pipelines, starting from the permission layer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from crm.access.fieldsec import present
from crm.access.models import Department, User
from crm.access.visibility import (
    can,
    editable,
    is_admin,
    report_ids,
    visible,
    visible_branches,
    visible_get,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, paginate
from crm.customers.models import Contact, Customer
from crm.opportunities.models import (
    Opportunity,
    OpportunityContact,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageHistory,
    StageKind,
)
from crm.opportunities.services import pipeline_default, pipeline_stages, requirable_fields

OPPORTUNITY_SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "-amount": ("-amount", "-id"),
    "amount": ("amount", "id"),
    "expected_close_date": ("expected_close_date", "id"),
    "-expected_close_date": ("-expected_close_date", "-id"),
    "-updated_at": ("-updated_at", "-id"),
    "stage_entered_at": ("stage_entered_at", "id"),
}
NULLABLE_SORT = {"expected_close_date"}
KANBAN_CARDS = 50
CARD_FIELDS = (
    "id",
    "version",
    "name",
    "amount",
    "currency",
    "probability",
    "stage_id",
    "stage_entered_at",
    "expected_close_date",
    "status",
    "owner_id",
    "customer_id",
    "customer__name",
    "owner__username",
    "owner__display_name",
)
# Won/lost columns of the kanban show what closed recently; older ones are in the list.
KANBAN_CLOSED_DAYS = 30

_MONEY = DecimalField(max_digits=20, decimal_places=2)


def _weighted() -> Any:
    return ExpressionWrapper(F("amount") * F("probability") / Value(100), output_field=_MONEY)


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field}: not a number", field=field) from exc


def _decimal(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (ArithmeticError, ValueError) as exc:
        raise ValidationFailed(f"{field}: not a number", field=field) from exc
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise ValidationFailed(f"{field}: not a number", field=field)
    return number


def _month(value: Any) -> tuple[dt.date, dt.date] | None:
    """ "2027-03" → [2027-03-01, 2027-04-01)."""
    if value in (None, ""):
        return None
    try:
        year, month = (int(p) for p in str(value).strip()[:7].split("-"))
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationFailed("close_month: YYYY-MM", field="close_month") from exc
    return start, end


# ----------------------------------------------------------------- filtering


def _visible(actor: Any) -> QuerySet[Opportunity]:
    """The rows of visible(actor, Opportunity), without its DISTINCT.

    visible() adds DISTINCT for every entity with extra visible rows; the opportunity's
    extra rows (the customer's collaborators) are a subquery, never a join, so no row can
    appear twice — and DISTINCT made SQLite sort every board and total it computes. Same
    predicate, by construction: the OR of visible()'s own branches.
    """
    branches = visible_branches(actor, Opportunity)
    if branches is None:
        return Opportunity.objects.all()
    if not branches:
        return Opportunity.objects.none()
    return Opportunity.objects.filter(reduce(or_, branches))


def opportunity_filter(actor: Any, filters: Any) -> QuerySet[Opportunity]:
    """The visible opportunities matching `filters` (no ordering): the list, the kanban, the
    API and exports share it.

    Keys: q, pipeline, stage, owner (me | team | user id), department (subtree), status,
    close_month (YYYY-MM), amount_min, amount_max, customer.
    """
    qs = _visible(actor)
    get = filters.get
    q = (get("q") or "").strip()
    if q:
        from crm.search.selectors import _candidate_ids

        ids = [row[1] for row in _candidate_ids(q[:100], ["opportunity"])]
        qs = qs.filter(pk__in=ids)
    pipeline = _int(get("pipeline"), "pipeline")
    if pipeline:
        qs = qs.filter(pipeline_id=pipeline)
    stage = _int(get("stage"), "stage")
    if stage:
        qs = qs.filter(stage_id=stage)
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(owner_id=_int(owner, "owner"))
    department = _int(get("department"), "department")
    if department:
        dept = Department.objects.filter(pk=department).first()
        qs = qs.filter(owner__department__path__startswith=dept.path) if dept else qs.none()
    status = get("status")
    if status:
        if status not in OpportunityStatus.values:
            raise ValidationFailed("unknown status", field="status")
        qs = qs.filter(status=status)
    month = _month(get("close_month"))
    if month:
        qs = qs.filter(expected_close_date__gte=month[0], expected_close_date__lt=month[1])
    low = _decimal(get("amount_min"), "amount_min")
    if low is not None:
        qs = qs.filter(amount__gte=low)
    high = _decimal(get("amount_max"), "amount_max")
    if high is not None:
        qs = qs.filter(amount__lte=high)
    customer = _int(get("customer"), "customer")
    if customer:
        qs = qs.filter(customer_id=customer)
    return qs


@dataclass
class Totals:
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")


def _totals(qs: QuerySet[Opportunity]) -> Totals:
    row = qs.order_by().aggregate(
        n=Count("id"),
        total_amount=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=_MONEY),
        total_weighted=Coalesce(Sum(_weighted()), Value(Decimal("0")), output_field=_MONEY),
    )
    return Totals(
        count=row["n"] or 0,
        amount=Decimal(row["total_amount"] or 0).quantize(Decimal("0.01")),
        weighted=Decimal(row["total_weighted"] or 0).quantize(Decimal("0.01")),
    )


def opportunity_totals(*, actor: Any, filters: Any) -> Totals:
    """Count, amount and weighted amount (amount × probability) of the filtered set, in SQL."""
    return _totals(opportunity_filter(actor, filters))


def opportunity_list(
    *, actor: Any, filters: Any, cursor: str | None = None, limit: int = 25
) -> Page:
    qs, ordering = opportunity_list_queryset(actor=actor, filters=filters)
    return paginate(qs, ordering=ordering, cursor=cursor, limit=limit)


def opportunity_list_queryset(
    *, actor: Any, filters: Any
) -> tuple[QuerySet[Opportunity], tuple[str, ...]]:
    sort = filters.get("sort") or "-id"
    if sort not in OPPORTUNITY_SORTS:
        raise ValidationFailed("unknown sort", field="sort")
    ordering = OPPORTUNITY_SORTS[sort]
    qs = opportunity_filter(actor, filters)
    first = ordering[0].lstrip("-")
    if first in NULLABLE_SORT:
        qs = qs.filter(**{f"{first}__isnull": False})
    qs = qs.select_related("customer", "owner", "stage", "pipeline")
    return qs, ordering


def opportunity_get(*, actor: Any, opportunity_id: Any) -> Opportunity:
    return visible_get(
        actor,
        Opportunity.objects.select_related(
            "customer", "owner", "owner__department", "stage", "pipeline", "created_by"
        ),
        opportunity_id,
    )


def opportunity_present(actor: Any, opp: Opportunity) -> dict[str, Any]:
    """The opportunity's fields the actor may read (field security applied)."""
    return present(actor, opp)


def opportunity_contacts(*, actor: Any, opportunity: Opportunity) -> list[dict[str, Any]]:
    """The contacts in the deal with their roles; contacts the actor cannot see are left out."""
    links = list(
        OpportunityContact.objects.filter(opportunity=opportunity)
        .select_related("contact")
        .order_by("id")
    )
    visible_ids = set(
        visible(actor, Contact)
        .filter(pk__in=[link.contact_id for link in links])
        .values_list("pk", flat=True)
    )
    out = []
    for link in links:
        if link.contact_id not in visible_ids:
            continue
        shown = present(actor, link.contact, ["name", "title", "mobile", "email"])
        out.append({"link": link, "contact": link.contact, "role": link.role, **shown})
    return out


def opportunity_contact_choices(*, actor: Any, opportunity: Opportunity) -> list[dict[str, Any]]:
    """The customer's contacts the actor may see (to add one to the deal)."""
    rows = visible(actor, Contact).filter(customer_id=opportunity.customer_id).order_by("id")[:200]
    return [{"id": c.pk, **present(actor, c, ["name", "title"])} for c in rows]


@dataclass
class HistoryRow:
    entry: StageHistory
    duration: dt.timedelta


def stage_history(*, actor: Any, opportunity: Opportunity) -> list[HistoryRow]:
    """Every stage change, oldest first (the opportunity is already known to be visible)."""
    rows = list(
        StageHistory.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "actor")
        .order_by("at", "id")
    )
    return [HistoryRow(r, dt.timedelta(seconds=r.seconds_in_from)) for r in rows]


# ----------------------------------------------------------------- pipelines


def pipeline_list(*, actor: Any, include_inactive: bool = False) -> list[Pipeline]:
    qs = visible(actor, Pipeline)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("order", "id"))


def pipeline_get(*, actor: Any, pipeline_id: Any) -> Pipeline:
    return visible_get(actor, Pipeline, pipeline_id)


def pipeline_for(*, actor: Any, pipeline_id: Any = None) -> Pipeline:
    """The chosen pipeline, else the default one."""
    if pipeline_id not in (None, ""):
        return pipeline_get(actor=actor, pipeline_id=pipeline_id)
    if not can(actor, "view", Pipeline):
        raise NotFound()
    return pipeline_default()


def stage_list(*, actor: Any, pipeline: Pipeline, include_inactive: bool = False) -> list[Stage]:
    if include_inactive:
        stages = list(Stage.objects.filter(pipeline=pipeline).order_by("order", "id"))
        kinds = {StageKind.OPEN: 0, StageKind.WON: 1, StageKind.LOST: 2}
        return sorted(stages, key=lambda s: (kinds.get(s.kind, 0), s.order, s.pk))  # type: ignore[call-overload]
    return pipeline_stages(pipeline)


def stage_get(*, actor: Any, stage_id: Any) -> Stage:
    try:
        stage = Stage.objects.select_related("pipeline").get(pk=int(stage_id))
    except (TypeError, ValueError, Stage.DoesNotExist) as exc:
        raise NotFound() from exc
    if not can(actor, "view", Pipeline):
        raise NotFound()
    return stage


def pipelines_with_stages(*, actor: Any, include_inactive: bool = False) -> list[Pipeline]:
    """Pipelines, each with `.stage_rows` (its stages in order): two queries."""
    pipelines = pipeline_list(actor=actor, include_inactive=include_inactive)
    qs = Stage.objects.filter(pipeline__in=pipelines)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    by_pipeline: dict[int, list[Stage]] = {}
    for s in qs:
        by_pipeline.setdefault(s.pipeline_id, []).append(s)
    kinds = {StageKind.OPEN: 0, StageKind.WON: 1, StageKind.LOST: 2}
    for p in pipelines:
        p.stage_rows = sorted(  # type: ignore[attr-defined]
            by_pipeline.get(p.pk, []),
            key=lambda s: (kinds.get(s.kind, 0), s.order, s.pk),
        )
    return pipelines


def requirable_choices() -> list[tuple[str, str]]:
    return requirable_fields()


# ----------------------------------------------------------------- kanban


@dataclass
class KanbanColumn:
    stage: Stage
    cards: list[Opportunity]
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class Kanban:
    pipeline: Pipeline
    columns: list[KanbanColumn]
    totals: Totals = field(default_factory=Totals)
    closed_since: dt.datetime | None = None


def kanban(
    actor: Any, pipeline: Pipeline, filters: Any, *, per_column: int = KANBAN_CARDS
) -> Kanban:
    """The board of one pipeline: a column per active stage with the top cards by amount and
    the column's count / amount / weighted amount aggregated in SQL (one GROUP BY).

    Open stages hold the open opportunities; won/lost columns those closed in the last
    KANBAN_CLOSED_DAYS days. Filters: those of opportunity_filter (owner, department, q…);
    pipeline/stage/status are decided by the board itself.
    """
    now = timezone.now()
    closed_since = now - dt.timedelta(days=KANBAN_CLOSED_DAYS)
    own = {k: v for k, v in dict(filters).items() if k not in ("pipeline", "stage", "status")}
    base = opportunity_filter(actor, own).filter(pipeline_id=pipeline.pk)
    stages = pipeline_stages(pipeline)
    board = base.filter(Q(status=OpportunityStatus.OPEN) | Q(closed_at__gte=closed_since))
    stats = {
        row["stage_id"]: row
        for row in board.order_by()
        .values("stage_id")
        .annotate(
            n=Count("id"),
            total_amount=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=_MONEY),
            total_weighted=Coalesce(Sum(_weighted()), Value(Decimal("0")), output_field=_MONEY),
        )
    }
    columns: list[KanbanColumn] = []
    totals = Totals()
    cards: dict[int, list[Opportunity]] = {}
    if stats:
        # The top cards of every column in one query: rank within the stage by amount.
        ranked = board.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("amount").desc(), F("id").desc()],
            )
        ).filter(rank__lte=per_column)
        for card in (
            ranked.select_related("customer", "owner")
            .only(*CARD_FIELDS)
            .order_by("stage_id", "-amount", "-id")
        ):
            cards.setdefault(card.stage_id, []).append(card)
    for stage in stages:
        row = stats.get(stage.pk)
        col = KanbanColumn(stage=stage, cards=cards.get(stage.pk, []))
        if row:
            col.count = row["n"]
            col.amount = Decimal(row["total_amount"] or 0).quantize(Decimal("0.01"))
            col.weighted = Decimal(row["total_weighted"] or 0).quantize(Decimal("0.01"))
        if stage.kind == StageKind.OPEN:
            totals.count += col.count
            totals.amount += col.amount
            totals.weighted += col.weighted
        columns.append(col)
    return Kanban(pipeline=pipeline, columns=columns, totals=totals, closed_since=closed_since)


def editable_ids(*, actor: Any, ids: list[int]) -> set[int]:
    """Which of these opportunities the actor may edit (one query): the others are shown
    on the board without a drag handle."""
    if not ids:
        return set()
    return set(editable(actor, Opportunity).filter(pk__in=ids).values_list("pk", flat=True))


def kanban_cards_present(actor: Any, board: Kanban) -> None:
    """Attach each card's readable values (`card.shown`): amounts may be masked or hidden."""
    from crm.access.fieldsec import field_level
    from crm.access.models import FieldAccess

    amount_level = field_level(actor, "opportunity", "amount")
    name_level = field_level(actor, "opportunity", "name")
    customer_level = field_level(actor, "customer", "name")
    now = timezone.now()
    for col in board.columns:
        for card in col.cards:
            card.days_in_stage = max(0, (now - card.stage_entered_at).days)  # type: ignore[attr-defined]
            card.amount_shown = (  # type: ignore[attr-defined]
                None
                if amount_level == FieldAccess.HIDDEN
                else (
                    "****"
                    if amount_level in (FieldAccess.MASKED, FieldAccess.REVEAL)
                    else card.amount
                )
            )
            card.name_shown = card.name if name_level != FieldAccess.HIDDEN else ""  # type: ignore[attr-defined]
            card.customer_shown = (  # type: ignore[attr-defined]
                card.customer.name if customer_level != FieldAccess.HIDDEN else ""
            )
            stall = col.stage.time_limit_days
            card.stalled = bool(  # type: ignore[attr-defined]
                stall and col.stage.kind == StageKind.OPEN and card.days_in_stage > stall  # type: ignore[attr-defined]
            )


# ----------------------------------------------------------------- the customer's opportunities


def customer_opportunities(*, actor: Any, customer: Customer, limit: int = 20) -> list[Opportunity]:
    """The customer's opportunities the actor may see: open ones first, then newest."""
    return list(
        visible(actor, Opportunity)
        .filter(customer_id=customer.pk)
        .select_related("stage", "owner")
        .order_by("closed_at", "-id")[:limit]
    )


def customer_opportunity_totals(*, actor: Any, customer: Customer) -> Totals:
    return _totals(
        visible(actor, Opportunity).filter(customer_id=customer.pk, status=OpportunityStatus.OPEN)
    )


def customer_pick(*, actor: Any, q: str, limit: int = 10) -> list[dict[str, Any]]:
    """Customers for the type-ahead picker of the opportunity form (the global search,
    customers only; what the actor may see)."""
    from crm.search.selectors import search

    hits = search(actor=actor, q=q, limit=limit, entities=["customer"])
    return [{"id": h.id, "name": h.title, "subtitle": h.subtitle} for h in hits]


def customer_for_opportunity(*, actor: Any, customer_id: Any) -> Customer:
    return visible_get(actor, Customer, customer_id)


def contact_for_opportunity(*, actor: Any, contact_id: Any) -> Contact:
    return visible_get(actor, Contact, contact_id)


# ----------------------------------------------------------------- owners


def owner_shortlist(*, actor: Any, include: Any = None) -> list[User]:
    """Owner pickers: the actor, their reports (and, for administrators, every active
    salesperson), plus the chosen one."""
    reports = report_ids(actor)
    qs = visible(actor, User).filter(is_active=True).select_related("department")
    if not is_admin(actor):
        ids = {actor.pk, *reports}
        try:
            if include not in (None, "", "me", "team"):
                ids.add(int(include))
        except (TypeError, ValueError):
            pass
        qs = qs.filter(pk__in=ids)
    return list(qs.order_by("username")[:200])


def high_value_open_amount(customer: Any, amount: Decimal | None) -> bool:
    """HIGH_VALUE_TESTS hook of the reminders: the customer has an open opportunity of at
    least `amount` (unscoped: the reminder engine runs for everyone)."""
    if amount is None:
        return False
    return Opportunity.objects.filter(
        customer_id=customer.pk, status=OpportunityStatus.OPEN, amount__gte=amount
    ).exists()
