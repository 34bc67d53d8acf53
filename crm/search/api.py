"""Global search: GET /api/v1/search?q= — customers, contacts and whatever registers later.

Results come from crm.search.selectors.search (the index proposes, the permission layer
decides); titles and subtitles are rebuilt from the record through field security by each
Searchable's `present`, so a masked or hidden value never leaks through the index text.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from crm.core.apiutils import ERRORS, Text
from crm.search.selectors import SearchHit, search

router = Router(tags=["search"])


class SearchParams(Schema):
    q: Text = Field(
        max_length=200, description="名称任意部分、全拼、首字母、电话后 4 位以上、邮箱、信用代码"
    )
    entity: Text | None = Field(None, max_length=50, description="只搜这一类对象，如 customer")
    limit: int = Field(20, ge=1, le=50)


class SearchHitOut(Schema):
    entity: str
    entity_label: str
    id: int
    title: str
    subtitle: str
    url: str
    reason: str = Field(description="为什么匹配：名称、拼音、电话……")
    score: int


class SearchOut(Schema):
    items: list[SearchHitOut]


def _hit_out(hit: SearchHit) -> dict[str, Any]:
    return {
        "entity": hit.entity,
        "entity_label": str(hit.entity_label),
        "id": hit.id,
        "title": hit.title,
        "subtitle": hit.subtitle,
        "url": hit.url,
        "reason": str(hit.reason),
        "score": hit.score,
    }


@router.get("", response={200: SearchOut, **ERRORS})
def search_endpoint(request: HttpRequest, params: Query[SearchParams]) -> dict:
    """Ranked hits the caller may see (the same rules as every list and page)."""
    actor = request.user
    hits = search(
        actor=actor,
        q=params.q,
        limit=params.limit,
        entities=[params.entity] if params.entity else None,
    )
    return {"items": [_hit_out(h) for h in hits]}
