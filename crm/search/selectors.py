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
# When the first candidates hold fewer visible hits than asked for (a common word, and the
# newest matches belong to other people), look once more, deeper.
DEEP_CANDIDATES = 4000


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


def _candidate_ids(
    q: str, entities: list[str], limit: int = CANDIDATES
) -> list[tuple[str, int, str, str, str]]:
    terms = query_terms(q)
    if not terms:
        return []
    placeholders = ",".join(["%s"] * len(entities))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Only "%s" placeholders are formatted into the SQL; every value is a parameter.
            cursor.execute(
                "SELECT e.entity, e.object_id, e.title, e.subtitle, e.tokens "  # noqa: S608
                "FROM search_fts f JOIN search_searchentry e ON e.id = f.rowid "
                f"WHERE search_fts MATCH %s AND e.entity IN ({placeholders}) "
                "ORDER BY f.rowid DESC LIMIT %s",
                [fts5_expression(terms), *entities, limit],
            )
        else:
            cursor.execute(
                "SELECT e.entity, e.object_id, e.title, e.subtitle, e.tokens "  # noqa: S608
                "FROM search_searchentry e "
                "WHERE to_tsvector('simple'::regconfig, e.tokens) "
                "@@ to_tsquery('simple'::regconfig, %s) "
                f"AND e.entity IN ({placeholders}) "
                "ORDER BY e.id DESC LIMIT %s",
                [tsquery_expression(terms), *entities, limit],
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


def search(
    *, actor: Any, q: str, limit: int = 20, entities: list[str] | None = None
) -> list[SearchHit]:
    q = (q or "").strip()[:100]
    if not q:
        return []
    digits = digit_query(q)
    emails = "@" in q
    wanted = [
        s.entity
        for s in searchable_list()
        if (entities is None or s.entity in entities)
        and not phones_masked(actor, s.entity, digits)
        and not (emails and emails_masked(actor, s.entity))
    ]
    if not wanted:
        return []
    rows = _candidate_ids(q, wanted)
    hits = _hits(actor, q, rows, limit)
    if len(hits) < limit and len(rows) >= CANDIDATES:
        hits = _hits(actor, q, _candidate_ids(q, wanted, DEEP_CANDIDATES), limit)
    return hits


def _hits(
    actor: Any, q: str, rows: list[tuple[str, int, str, str, str]], limit: int
) -> list[SearchHit]:
    # Rank from the index text first, then ask the permission layer which candidates the
    # actor may see (ids only), and load, present and link only the `limit` best of those:
    # a common word proposes hundreds of candidates, and building a hit for each of them
    # cost more than all the rest of the search. Two queries per entity, whatever the count.
    ranked: list[tuple[int, int, str, Any]] = []  # (score, id, entity, reason)
    by_entity: dict[str, list[int]] = {}
    meta: dict[tuple[str, int], tuple[str, str]] = {}
    for entity, object_id, title, subtitle, tokens in rows:
        score, reason = _score(q, title, tokens)
        ranked.append((score, object_id, entity, reason))
        by_entity.setdefault(entity, []).append(object_id)
        meta[(entity, object_id)] = (title, subtitle)
    querysets: dict[str, Any] = {}
    seen: set[tuple[str, int]] = set()
    for entity, ids in by_entity.items():
        searchable = searchable_get(entity)
        if searchable is None:
            continue
        base = searchable.queryset() if searchable.queryset else None
        querysets[entity] = visible(actor, base if base is not None else _model_of(entity))
        allowed = querysets[entity].filter(pk__in=ids).values_list("pk", flat=True)
        seen.update((entity, pk) for pk in allowed)
    ranked.sort(key=lambda r: (-r[0], -r[1]))
    top = [r for r in ranked if (r[2], r[1]) in seen][:limit]
    objs: dict[tuple[str, int], Any] = {}
    for entity, qs in querysets.items():
        ids = [pk for _score_, pk, e, _reason in top if e == entity]
        if ids:
            objs.update(((entity, obj.pk), obj) for obj in qs.filter(pk__in=ids))
    hits: list[SearchHit] = []
    for score, pk, entity, reason in top:
        obj = objs.get((entity, pk))
        searchable = searchable_get(entity)
        if obj is None or searchable is None:
            continue  # deleted between the two queries
        title, subtitle = meta[(entity, pk)]
        if searchable.present is not None:
            title, subtitle = searchable.present(actor, obj)
        hits.append(
            SearchHit(
                entity=entity,
                entity_label=searchable.label,
                id=pk,
                title=title,
                subtitle=subtitle,
                url=searchable.url(obj),
                reason=reason,
                score=score,
                obj=obj,
            )
        )
    return hits


def digit_query(q: str) -> int:
    """The longest number the query looks for (0: none): a phone number, or its end."""
    words = PHONE_LIKE.sub(_phone_query, normalize(q)).split()
    return max((len(w) for w in words if w.isdigit()), default=0)


def phones_masked(actor: Any, entity_key: str, digits: int) -> bool:
    """Would a search for `digits` digits give away a phone the actor may not read?

    A masked phone shows its last four digits (138****5678), so those may be searched; a
    longer number would confirm the hidden middle. A hidden phone gives nothing away."""
    from crm.access.fieldsec import field_state
    from crm.access.registry import entity_exists, entity_get

    if digits < 4 or not entity_exists(entity_key):
        return False
    entity = entity_get(entity_key)
    for spec in entity.fields:
        if spec.kind != "phone":
            continue
        state = field_state(actor, entity, spec.name)
        if state["hidden"] or (state["masked"] and digits > 4):
            return True
    return False


def emails_masked(actor: Any, entity_key: str) -> bool:
    """Would searching an address confirm an email the actor may not read (masked or hidden)?"""
    from crm.access.fieldsec import field_state
    from crm.access.registry import entity_exists, entity_get

    if not entity_exists(entity_key):
        return False
    entity = entity_get(entity_key)
    for spec in entity.fields:
        if spec.kind != "email":
            continue
        state = field_state(actor, entity, spec.name)
        if state["hidden"] or state["masked"]:
            return True
    return False


def _model_of(entity: str) -> Any:
    from crm.access.registry import entity_get

    return entity_get(entity).model


__all__ = ["SearchHit", "phone_digits", "search"]
