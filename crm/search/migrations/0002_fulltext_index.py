"""The full-text index over SearchEntry.tokens, one per database vendor."""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        tokens, content='search_searchentry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0', prefix='2 3 4'
    )""",
    """CREATE TRIGGER search_fts_ai AFTER INSERT ON search_searchentry BEGIN
        INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens);
    END""",
    """CREATE TRIGGER search_fts_ad AFTER DELETE ON search_searchentry BEGIN
        INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens);
    END""",
    """CREATE TRIGGER search_fts_au AFTER UPDATE OF tokens ON search_searchentry BEGIN
        INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens);
        INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_fts_au",
    "DROP TRIGGER IF EXISTS search_fts_ad",
    "DROP TRIGGER IF EXISTS search_fts_ai",
    "DROP TABLE IF EXISTS search_fts",
]
PG_FORWARD = [
    "CREATE INDEX search_entry_tsv ON search_searchentry "
    "USING gin (to_tsvector('simple'::regconfig, tokens))",
]
PG_BACKWARD = ["DROP INDEX IF EXISTS search_entry_tsv"]


def forward(apps, schema_editor):
    statements = SQLITE_FORWARD if schema_editor.connection.vendor == "sqlite" else PG_FORWARD
    for sql in statements:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    statements = SQLITE_BACKWARD if schema_editor.connection.vendor == "sqlite" else PG_BACKWARD
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
