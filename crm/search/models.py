"""One search entry per searchable record: a precomputed token string (see keys.py).

SQLite indexes `tokens` with an FTS5 table kept in sync by triggers; PostgreSQL with a GIN
index on to_tsvector('simple', tokens). Both are created in migration 0002.
"""

from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    entity = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    tokens = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity", "object_id"], name="search_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity}:{self.object_id} {self.title}"
