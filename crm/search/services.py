"""Keeping the search index in step with records. Called by domain services on write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.access.registry import entity_for_model
from crm.search.models import SearchEntry
from crm.search.registry import searchable_get


def search_index(obj: Any) -> None:
    entity = entity_for_model(type(obj)).key
    searchable = searchable_get(entity)
    if searchable is None:
        return
    if getattr(obj, "deleted_at", None) is not None:
        search_remove(entity, obj.pk)
        return
    doc = searchable.doc(obj)
    SearchEntry.objects.update_or_create(
        entity=entity,
        object_id=obj.pk,
        defaults={"title": doc.title[:300], "subtitle": doc.subtitle[:300], "tokens": doc.tokens()},
    )


def search_index_many(objs: Iterable[Any]) -> int:
    """Bulk (re)index: used by imports, the benchmark seeder and `crm search reindex`."""
    rows: list[SearchEntry] = []
    entity = None
    ids: list[int] = []
    for obj in objs:
        if entity is None:
            entity = entity_for_model(type(obj)).key
        searchable = searchable_get(entity)
        if searchable is None:
            return 0
        doc = searchable.doc(obj)
        ids.append(obj.pk)
        rows.append(
            SearchEntry(
                entity=entity,
                object_id=obj.pk,
                title=doc.title[:300],
                subtitle=doc.subtitle[:300],
                tokens=doc.tokens(),
            )
        )
    if not rows:
        return 0
    SearchEntry.objects.filter(entity=entity, object_id__in=ids).delete()
    SearchEntry.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def search_remove(entity: str, object_id: Any) -> None:
    SearchEntry.objects.filter(entity=entity, object_id=object_id).delete()
