"""The two databases the CRM runs on, as backup sees them: a consistent snapshot into a file,
a restore from that file, and per-table row counts and checksums.

SQLite: the sqlite3 online backup API (a consistent copy while the server keeps writing;
WAL readers never block it). PostgreSQL: `pg_dump --format=custom` inside a REPEATABLE READ
transaction whose snapshot is exported, so the dump and the manifest's counts describe the
very same moment; `pg_restore` to restore.

Checksums are order-independent (the sum of each row's SHA-256, modulo 2^256), so they do
not depend on a collation or on the physical order of rows; a row is hashed in its text
form (`repr` of the row for SQLite, `row::text` for PostgreSQL), so a checksum compares a
database with its restored copy on the same vendor.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

MOD = 2**256

# Tables that a freshly migrated, never used database already fills.
BOOKKEEPING = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "django_session",
        "sqlite_sequence",
        "sqlite_stat1",
        "sqlite_stat4",
    }
)

TableStats = dict[str, dict[str, Any]]


class BackupError(Exception):
    """A backup, verify or restore step failed; the message is for the administrator."""


def rows_digest(rows: Iterable[str]) -> tuple[int, str]:
    """(row count, order-independent checksum) of rows given in text form."""
    total = 0
    n = 0
    for text in rows:
        total = (total + int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest())) % MOD
        n += 1
    return n, f"{total:064x}"


class Database(Protocol):
    vendor: str
    dump_name: str

    def label(self) -> str: ...

    def dump(self, target: Path) -> TableStats: ...

    def restore(self, dump: Path) -> None: ...

    def stats(self) -> TableStats: ...

    def user_rows(self) -> int: ...

    def clear(self) -> None: ...

    def scratch(self) -> contextlib.AbstractContextManager[Database]: ...


# ----------------------------------------------------------------- SQLite


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    # A virtual table (the full-text index) stores its rows in shadow tables, counted there.
    return [name for name, sql in rows if not (sql or "").upper().startswith("CREATE VIRTUAL")]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_stats(conn: sqlite3.Connection) -> TableStats:
    out: TableStats = {}
    for table in _sqlite_tables(conn):
        cursor = conn.execute(f"SELECT * FROM {_quote(table)}")  # noqa: S608 (a table name)
        n, checksum = rows_digest(repr(row) for row in cursor)
        out[table] = {"rows": n, "checksum": checksum}
    return out


@dataclass
class SqliteDatabase:
    """A SQLite database file (or, in tests, a live connection to an in-memory one)."""

    path: str
    connection: sqlite3.Connection | None = None
    vendor: str = "sqlite"
    dump_name: str = "database.sqlite3"

    def label(self) -> str:
        return f"SQLite {self.path}"

    @contextlib.contextmanager
    def _source(self) -> Iterator[sqlite3.Connection]:
        if self.connection is not None:
            yield self.connection
            return
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            yield conn
        finally:
            conn.close()

    def dump(self, target: Path) -> TableStats:
        with self._source() as source:
            dest = sqlite3.connect(target)
            try:
                # pages=-1: the whole database in one step, i.e. one consistent snapshot.
                source.backup(dest, pages=-1)
                # The copy is a plain file: no WAL side files to forget when it is moved.
                dest.execute("PRAGMA journal_mode=DELETE")
                return sqlite_stats(dest)
            finally:
                dest.close()

    def restore(self, dump: Path) -> None:
        src = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        try:
            with self._source() as dest:
                src.backup(dest, pages=-1)
                dest.execute("PRAGMA journal_mode=WAL")
        finally:
            src.close()

    def stats(self) -> TableStats:
        with self._source() as conn:
            return sqlite_stats(conn)

    def user_rows(self) -> int:
        if self.connection is None and not os.path.exists(self.path):
            return 0
        with self._source() as conn:
            total = 0
            for table in _sqlite_tables(conn):
                if table in BOOKKEEPING:
                    continue
                total += conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]  # noqa: S608
            return total

    def clear(self) -> None:
        # The backup API replaces every page of the destination: nothing to clear first.
        return None

    def integrity_check(self) -> str:
        with self._source() as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])

    def scratch(self) -> contextlib.AbstractContextManager[Database]:
        return sqlite_scratch()


@contextlib.contextmanager
def sqlite_scratch() -> Iterator[Database]:
    """A temporary SQLite file to restore into (verify), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="crm-verify-") as tmp:
        yield SqliteDatabase(str(Path(tmp) / "verify.sqlite3"))


# ----------------------------------------------------------------- PostgreSQL


def pg_binary(name: str, server_major: int | None = None) -> str:
    """pg_dump / pg_restore: the server's major version first (a dump of a newer server by
    an older pg_dump is refused), then PATH, then the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    lib = Path("/usr/lib/postgresql")
    if server_major is not None:
        candidates.append(lib / str(server_major) / "bin" / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    if lib.is_dir():
        versions = sorted(
            (p for p in lib.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates += [v / "bin" / name for v in versions]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise BackupError(
        f"{name} not found (PATH or /usr/lib/postgresql/*/bin): install the PostgreSQL client"
    )


@dataclass
class PostgresDatabase:
    """A PostgreSQL database given by Django-style connection settings."""

    settings: dict[str, Any]
    vendor: str = "postgresql"
    dump_name: str = "database.pgdump"

    @property
    def name(self) -> str:
        return str(self.settings.get("NAME") or "")

    def label(self) -> str:
        host = self.settings.get("HOST") or "localhost"
        return f"PostgreSQL {host}:{self.settings.get('PORT') or 5432}/{self.name}"

    def _conninfo(self, dbname: str | None = None) -> dict[str, Any]:
        s = self.settings
        info: dict[str, Any] = {"dbname": dbname or self.name}
        for key, param in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host")):
            if s.get(key):
                info[param] = s[key]
        if s.get("PORT"):
            info["port"] = str(s["PORT"])
        for key, value in (s.get("OPTIONS") or {}).items():
            if key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
                info[key] = value
        return info

    def _env(self) -> dict[str, str]:
        """libpq environment for pg_dump / pg_restore: the password never on a command line."""
        env = dict(os.environ)
        info = self._conninfo()
        mapping = {
            "host": "PGHOST",
            "port": "PGPORT",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "dbname": "PGDATABASE",
            "sslmode": "PGSSLMODE",
            "sslrootcert": "PGSSLROOTCERT",
            "sslcert": "PGSSLCERT",
            "sslkey": "PGSSLKEY",
            "connect_timeout": "PGCONNECT_TIMEOUT",
        }
        for key, var in mapping.items():
            if key in info:
                env[var] = str(info[key])
        return env

    def connect(self, dbname: str | None = None, *, autocommit: bool = False) -> Any:
        import psycopg

        try:
            return psycopg.connect(**self._conninfo(dbname), autocommit=autocommit)
        except psycopg.Error as exc:
            raise BackupError(f"cannot connect to {self.label()}: {exc}") from exc

    def _server_major(self, conn: Any) -> int:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(  # noqa: S603 (fixed binary, no shell)
            args, env=self._env(), capture_output=True, text=True, errors="replace", check=False
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise BackupError(f"{Path(args[0]).name} failed: " + " | ".join(detail[-5:]))

    def dump(self, target: Path) -> TableStats:
        conn = self.connect()
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            binary = pg_binary("pg_dump", self._server_major(conn))
            self._run(
                [
                    binary,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    "--no-password",
                ]
            )
            # Same transaction, same snapshot: the counts are those of the dump.
            return _pg_stats(conn)
        finally:
            conn.close()

    def restore(self, dump: Path) -> None:
        with contextlib.closing(self.connect(autocommit=True)) as conn:
            binary = pg_binary("pg_restore", self._server_major(conn))
        self._run(
            [
                binary,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                f"--dbname={self.name}",
                str(dump),
            ]
        )

    def stats(self) -> TableStats:
        conn = self.connect()
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return _pg_stats(conn)
        finally:
            conn.close()

    def user_rows(self) -> int:
        from psycopg import sql

        with contextlib.closing(self.connect(autocommit=True)) as conn:
            total = 0
            for table in _pg_tables(conn):
                if table in BOOKKEEPING:
                    continue
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                total += conn.execute(query).fetchone()[0]
            return total

    def clear(self) -> None:
        """Drop what the CRM keeps in its schema — views, tables (with their triggers),
        sequences, functions, enum and domain types — so the dump restores into a clean
        schema (restore --force). What an extension owns is left alone."""
        from psycopg import sql

        queries = [
            (
                "VIEW",
                "SELECT quote_ident(viewname) FROM pg_views WHERE schemaname = current_schema()",
            ),
            (
                "MATERIALIZED VIEW",
                "SELECT quote_ident(matviewname) FROM pg_matviews "
                "WHERE schemaname = current_schema()",
            ),
            (
                "TABLE",
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()",
            ),
            (
                "SEQUENCE",
                "SELECT quote_ident(sequence_name) FROM information_schema.sequences "
                "WHERE sequence_schema = current_schema()",
            ),
            (
                "ROUTINE",
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p') AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
            ),
            (
                "TYPE",
                "SELECT quote_ident(t.typname) FROM pg_type t "
                "JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')",
            ),
        ]
        with contextlib.closing(self.connect()) as conn, conn.transaction():
            for kind, query in queries:
                for (name,) in conn.execute(query).fetchall():
                    # Names come quoted (quote_ident / regprocedure) from the catalog itself.
                    statement = f"DROP {kind} IF EXISTS {name} CASCADE"
                    conn.execute(sql.SQL(statement))

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Database]:
        """A temporary database on the same server (needs the CREATEDB privilege)."""
        import psycopg
        from psycopg import sql

        name = f"crm_verify_{secrets.token_hex(6)}"
        admin = self.connect(autocommit=True)
        try:
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                        sql.Identifier(name)
                    )
                )
            except psycopg.Error as exc:
                raise BackupError(
                    f"cannot create a scratch database to verify into (CREATEDB needed): {exc}"
                ) from exc
            try:
                yield PostgresDatabase({**self.settings, "NAME": name})
            finally:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        finally:
            admin.close()


def _pg_tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ).fetchall()
    return [r[0] for r in rows]


def _pg_stats(conn: Any) -> TableStats:
    from psycopg import sql

    out: TableStats = {}
    for table in _pg_tables(conn):
        # A server-side cursor: rows stream in batches, never the whole table in memory.
        with conn.cursor(name=f"crm_stats_{secrets.token_hex(4)}") as cursor:
            cursor.itersize = 5000
            cursor.execute(sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table)))
            n, checksum = rows_digest(row[0] for row in cursor)
        out[table] = {"rows": n, "checksum": checksum}
    return out


# ----------------------------------------------------------------- the configured database


def current_database() -> Database:
    """The database Django is connected to (in tests: the test database)."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            # An in-memory database (the test suite's) is only reachable through this
            # connection, and the backup API cannot read it while it is in a transaction.
            if connection.in_atomic_block:
                raise BackupError("cannot back up an in-memory database inside a transaction")
            connection.ensure_connection()
            return SqliteDatabase(name, connection=connection.connection)
        return SqliteDatabase(name)
    if connection.vendor == "postgresql":
        return PostgresDatabase(dict(s))
    raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
