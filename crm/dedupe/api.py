"""API of dedupe: the candidate-pair queue, merging two customers, undoing a merge.

Thin: parse input, call one selector or service, render. A pair or merge involving a
customer outside the caller's scope answers 404 like a missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from crm.access.fieldsec import present
from crm.core.apiutils import (
    ERRORS,
    Id,
    ListParams,
    PageOut,
    Text,
    enum_schema,
    page_out,
    paginate_api,
)
from crm.core.errors import NotFound, ValidationFailed
from crm.customers.selectors import customer_get
from crm.dedupe import selectors, services
from crm.dedupe.models import DuplicatePair, MergeRecord, PairStatus

router = Router(tags=["duplicates"])


class CustomerRefOut(Schema):
    id: int
    name: str | None = None


class PairOut(Schema):
    id: int
    a: CustomerRefOut
    b: CustomerRefOut
    score: float
    reasons: list[str]
    exact: bool
    auto_merge_ok: bool
    status: str
    source: str
    found_at: dt.datetime
    decided_at: dt.datetime | None = None
    merge_id: int | None = None


class PairFilters(ListParams):
    status: Text | None = Field(
        PairStatus.OPEN,
        max_length=20,
        json_schema_extra=enum_schema(list(PairStatus.values)),
        description="open（默认）、dismissed、merged、obsolete",
    )
    customer: Id | None = Field(None, description="只列出含这个客户的疑似重复")


def _ref(actor: Any, customer: Any) -> dict[str, Any]:
    return {"id": customer.pk, "name": present(actor, customer, ["name"]).get("name")}


def _pair_out(actor: Any, p: DuplicatePair) -> dict[str, Any]:
    return {
        "id": p.pk,
        "a": _ref(actor, p.a),
        "b": _ref(actor, p.b),
        "score": p.score,
        "reasons": [str(r) for r in p.reasons],
        "exact": p.exact,
        "auto_merge_ok": p.auto_merge_ok,
        "status": p.status,
        "source": p.source,
        "found_at": p.found_at,
        "decided_at": p.decided_at,
        "merge_id": p.merge_id,
    }


@router.get("/duplicates", response={200: PageOut[PairOut], **ERRORS})
def duplicate_list(request: HttpRequest, filters: Query[PairFilters]) -> dict:
    """Candidate pairs of duplicate customers the caller can see (both customers in scope),
    best score first."""
    actor = request.user
    status = filters.status or PairStatus.OPEN
    if status not in PairStatus.values:
        raise ValidationFailed("status: open, dismissed, merged, obsolete", field="status")
    page = paginate_api(
        selectors.duplicate_pairs(actor=actor, status=status, customer_id=filters.customer),
        ordering=("-score", "-id"),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return page_out(page, lambda p: _pair_out(actor, p))


@router.get("/duplicates/{pair_id}", response={200: PairOut, **ERRORS})
def duplicate_get(request: HttpRequest, pair_id: Id) -> dict:
    pair = selectors.duplicate_pair_get(actor=request.user, pair_id=pair_id)
    return _pair_out(request.user, pair)


class DismissParams(Schema):
    note: Text = Field("", max_length=200, description="为什么不是重复（记入审计日志）")


@router.post("/duplicates/{pair_id}/dismiss", response={200: PairOut, **ERRORS})
def duplicate_dismiss(request: HttpRequest, pair_id: Id, params: Query[DismissParams]) -> dict:
    """ "Not a duplicate": the pair leaves the queue; scans never reopen it. No body."""
    actor = request.user
    pair = selectors.duplicate_pair_get(actor=actor, pair_id=pair_id)
    services.duplicate_pair_dismiss(actor=actor, pair=pair, note=params.note)
    return _pair_out(actor, selectors.duplicate_pair_get(actor=actor, pair_id=pair_id))


class MergeIn(Schema):
    survivor: Id = Field(description="保留的客户 id")
    loser: Id = Field(description="被合并（放入回收站）的客户 id")
    choices: dict[Text, Text] = Field(
        default_factory=dict,
        description='每个字段取哪一边：{"name": "a"|"b"}，a = 保留客户，b = 被合并客户；'
        '自定义字段写作 "custom.<key>"。未列出的字段保留客户的值，为空时取被合并客户的值。',
    )
    survivor_version: int | None = Field(None, ge=0, le=2**31 - 1)
    loser_version: int | None = Field(None, ge=0, le=2**31 - 1)


class MergeOut(Schema):
    id: int
    survivor: CustomerRefOut | None
    loser_id: int | None
    choices: dict[str, str]
    moved: dict[str, int] = Field(description="每种记录转到保留客户的条数")
    dropped: dict[str, int] = Field(description="保留客户已有而删去的重复关联（标签、协作人）")
    created_at: dt.datetime
    undone_at: dt.datetime | None = None


def _merge_out(actor: Any, record: MergeRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "survivor": _ref(actor, record.survivor) if record.survivor else None,
        "loser_id": record.loser_id,
        "choices": record.choices,
        "moved": {k: len(v) for k, v in record.moved.items()},
        "dropped": {k: len(v) for k, v in record.dropped.items()},
        "created_at": record.created_at,
        "undone_at": record.undone_at,
    }


def _customer(actor: Any, pk: int, field: str) -> Any:
    try:
        return customer_get(actor=actor, customer_id=pk)
    except NotFound as exc:
        raise NotFound(field=field) from exc


@router.post("/customers/merge", response={200: MergeOut, **ERRORS})
def customer_merge(request: HttpRequest, payload: MergeIn) -> dict:
    """Merge `loser` into `survivor` (both must be editable by the caller). Contacts,
    follow-ups, tasks, timeline, tags, collaborators and every other related record move to
    the survivor; the loser goes to the recycle bin. Undo with POST /merges/{id}/undo."""
    actor = request.user
    survivor = _customer(actor, payload.survivor, "survivor")
    loser = _customer(actor, payload.loser, "loser")
    record = services.customer_merge(
        actor=actor,
        survivor=survivor,
        loser=loser,
        choices={str(k): str(v) for k, v in payload.choices.items()},
        survivor_version=payload.survivor_version,
        loser_version=payload.loser_version,
    )
    return _merge_out(actor, record)


@router.get("/merges/{merge_id}", response={200: MergeOut, **ERRORS})
def merge_get(request: HttpRequest, merge_id: Id) -> dict:
    return _merge_out(request.user, selectors.merge_get(actor=request.user, merge_id=merge_id))


@router.post("/merges/{merge_id}/undo", response={200: MergeOut, **ERRORS})
def merge_undo(request: HttpRequest, merge_id: Id) -> dict:
    """Restore both customers as they were before the merge (fields edited on the survivor
    since are kept; records added to it since stay)."""
    actor = request.user
    record = selectors.merge_get(actor=actor, merge_id=merge_id)
    record = services.customer_merge_undo(actor=actor, merge=record)
    return _merge_out(actor, record)
