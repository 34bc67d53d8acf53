"""Global search: candidates from the full-text index, then the permission layer, then rank.

The index only proposes candidates; what the actor sees is decided by `visible()` exactly as
everywhere else, so search can never show a record its page would 404 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from crm.access.visibility import visible
from crm.search.keys import (
    CJK_RUN,
    PHONE_LIKE,
    _phone_query,
    fts5_expression,
    normalize,
    phone_digits,
    query_terms,
    tsquery_expression,
)
from crm.search.registry import searchable_get, searchable_list

CANDIDATES = 400


@dataclass
class SearchHit:
    entity: str
    entity_label: Any
    id: int
    title: str
    subtitle: str
    url: str
    reason: str
    score: int
    obj: Any = None


def _candidate_ids(q: str, entities: list[str]) -> list[tuple[str, int, str, str, str]]:
    terms = query_terms(q)
    if not terms:
        return []
    placeholders = ",".join(["%s"] * len(entities))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT e.entity, e.object_id, e.title, e.subtitle, e.tokens "
                "FROM search_fts f JOIN search_searchentry e ON e.id = f.rowid "
                f"WHERE search_fts MATCH %s AND e.entity IN ({placeholders}) "  # noqa: S608
                "ORDER BY f.rowid DESC LIMIT %s",
                [fts5_expression(terms), *entities, CANDIDATES],
            )
        else:
            cursor.execute(
                "SELECT e.entity, e.object_id, e.title, e.subtitle, e.tokens "
                "FROM search_searchentry e "
                "WHERE to_tsvector('simple'::regconfig, e.tokens) "
                "@@ to_tsquery('simple'::regconfig, %s) "
                f"AND e.entity IN ({placeholders}) "  # noqa: S608
                "ORDER BY e.id DESC LIMIT %s",
                [tsquery_expression(terms), *entities, CANDIDATES],
            )
        return list(cursor.fetchall())


def _score(q: str, title: str, tokens: str) -> tuple[int, str]:
    """A simple, explainable rank: where the query matched decides the score and the hint."""
    nq = normalize(q)
    nt = normalize(title)
    words = PHONE_LIKE.sub(_phone_query, nq).split()
    if nt == nq:
        return 100, _("名称")
    if nt.startswith(nq):
        return 90, _("名称")
    if all(w in nt for w in words):
        return 80, _("名称")
    token_list = tokens.split()
    if all(any(t.startswith(w) for t in token_list) for w in words):
        if any(w.isdigit() for w in words):
            return 60, _("电话")
        if any("@" in w for w in words):
            return 60, _("邮箱")
        if not any(CJK_RUN.search(w) for w in words):
            exact = any(t == w for w in words for t in token_list)
            return (75 if exact else 70), _("拼音")
        return 65, _("名称")
    if any(w.isdigit() for w in words):
        return 55, _("电话尾号")
    return 50, _("匹配")


def search(*, actor: Any, q: str, limit: int = 20, entities: list[str] | None = None) -> list[SearchHit]:
    q = (q or "").strip()[:100]
    if not q:
        return []
    wanted = [s.entity for s in searchable_list() if entities is None or s.entity in entities]
    if not wanted:
        return []
    rows = _candidate_ids(q, wanted)
    by_entity: dict[str, list[int]] = {}
    meta: dict[tuple[str, int], tuple[str, str, str]] = {}
    for entity, object_id, title, subtitle, tokens in rows:
        by_entity.setdefault(entity, []).append(object_id)
        meta[(entity, object_id)] = (title, subtitle, tokens)
    hits: list[SearchHit] = []
    for entity, ids in by_entity.items():
        searchable = searchable_get(entity)
        if searchable is None:
            continue
        base = searchable.queryset() if searchable.queryset else None
        model_qs = visible(actor, base if base is not None else _model_of(entity))
        for obj in model_qs.filter(pk__in=ids):
            title, subtitle, tokens = meta[(entity, obj.pk)]
            score, reason = _score(q, title, tokens)
            hits.append(
                SearchHit(
                    entity=entity,
                    entity_label=searchable.label,
                    id=obj.pk,
                    title=title,
                    subtitle=subtitle,
                    url=searchable.url(obj),
                    reason=reason,
                    score=score,
                    obj=obj,
                )
            )
    hits.sort(key=lambda h: (-h.score, -h.id))
    return hits[:limit]


def _model_of(entity: str) -> Any:
    from crm.access.registry import entity_get

    return entity_get(entity).model


__all__ = ["SearchHit", "phone_digits", "search"]
