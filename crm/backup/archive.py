"""The backup on disk: a directory (or the same directory packed as .tar / .tar.gz) with

    manifest.json          what is in it: per-table row counts and checksums, files, sizes
    database.sqlite3       the SQLite snapshot  — or —  database.pgdump (pg_dump -Fc)
    media/...              the attachments (MEDIA_ROOT)
    secrets/encryption_key the key of encrypted fields, when it is kept in the data dir

A backup is written under a temporary name and renamed when complete, so a crash never
leaves something that looks like a finished backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crm.backup.databases import BackupError

FORMAT = "crm-backup"
VERSION = 1
MANIFEST = "manifest.json"
MEDIA = "media"
SECRETS = "secrets"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def is_tar(path: Path) -> bool:
    return path.name.endswith(TAR_SUFFIXES)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _private(path: Path) -> None:
    """Backups hold every customer's data: readable by the CRM's user only."""
    with contextlib.suppress(OSError):
        path.chmod(0o700 if path.is_dir() else 0o600)


def media_copy(source: Path, target: Path) -> dict[str, Any]:
    """Copy the attachments; returns {"files": {relpath: {bytes, sha256}}, "count", "bytes"}."""
    files: dict[str, dict[str, Any]] = {}
    total = 0
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            rel = path.relative_to(source).as_posix()
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            size = dest.stat().st_size
            files[rel] = {"bytes": size, "sha256": sha256_file(dest)}
            total += size
    return {"files": files, "count": len(files), "bytes": total}


def manifest_write(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    _private(path)


def manifest_read(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{MANIFEST} missing: not a CRM backup")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{MANIFEST} is damaged: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not a CRM backup manifest")
    if int(manifest.get("version") or 0) > VERSION:
        raise BackupError("this backup was written by a newer CRM version")
    return manifest


@contextlib.contextmanager
def staging(final: Path) -> Iterator[Path]:
    """A private folder to write the backup into, moved to `final` (a directory, or packed
    into a tar there) only when everything succeeded."""
    final = final.expanduser().absolute()
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise BackupError(f"{final} already exists: choose a new path or an empty directory")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".crm-backup-", dir=final.parent))
    _private(work)
    try:
        yield work
        if is_tar(final):
            partial = final.with_name(final.name + ".partial")
            mode = "w:gz" if final.name.endswith((".gz", ".tgz")) else "w"
            kwargs: dict[str, Any] = {"compresslevel": 3} if mode == "w:gz" else {}
            with tarfile.open(partial, mode, **kwargs) as tar:  # type: ignore[call-overload]
                for child in sorted(work.iterdir()):
                    tar.add(child, arcname=child.name)
            _private(partial)
            os.replace(partial, final)
        else:
            if final.exists():
                final.rmdir()  # empty, checked above
            os.replace(work, final)
            _private(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        partial = final.with_name(final.name + ".partial")
        if partial.exists():
            partial.unlink()


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The backup's folder: the directory itself, or a tar unpacked into a temporary one."""
    path = path.expanduser().absolute()
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        is_tar_file = tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise BackupError(f"{path.name} is damaged: {exc}") from exc
    if not is_tar_file:
        raise BackupError(f"{path} is neither a backup directory nor a tar archive")
    try:
        # Next to the archive (same disk, usually room for it); else the temporary directory.
        tmp = tempfile.mkdtemp(prefix=".crm-restore-", dir=path.parent)
    except OSError:
        tmp = tempfile.mkdtemp(prefix="crm-restore-")
    try:
        try:
            with tarfile.open(path) as tar:
                # filter="data": no absolute paths, no "..", no devices or links outside.
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{path.name} is damaged: {exc}") from exc
        yield Path(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def files_problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Each file the manifest lists is there, with its size and checksum; nothing extra."""
    problems: list[str] = []
    database = manifest.get("database") or {}
    db_file = folder / str(database.get("file") or "")
    if not database.get("file") or not db_file.is_file():
        problems.append("database file missing")
    elif sha256_file(db_file) != database.get("sha256"):
        problems.append(f"{db_file.name}: checksum differs from the manifest (damaged)")
    listed = (manifest.get("media") or {}).get("files") or {}
    media = folder / MEDIA
    for rel, info in listed.items():
        path = media / rel
        if not path.is_file():
            problems.append(f"media/{rel}: missing")
        elif path.stat().st_size != info.get("bytes") or sha256_file(path) != info.get("sha256"):
            problems.append(f"media/{rel}: checksum differs from the manifest")
    if media.is_dir():
        for path in media.rglob("*"):
            if path.is_file() and path.relative_to(media).as_posix() not in listed:
                problems.append(f"media/{path.relative_to(media).as_posix()}: not in the manifest")
    for name, digest in (manifest.get("secrets") or {}).items():
        path = folder / SECRETS / name
        if not path.is_file() or sha256_file(path) != digest:
            problems.append(f"secrets/{name}: missing or damaged")
    return problems


def tables_problems(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None:
            problems.append(f"table {table}: not in the manifest")
        elif got is None:
            problems.append(f"table {table}: missing after restore")
        elif want.get("rows") != got.get("rows"):
            problems.append(
                f"table {table}: {got.get('rows')} rows, manifest says {want.get('rows')}"
            )
        elif want.get("checksum") != got.get("checksum"):
            problems.append(f"table {table}: checksum differs from the manifest")
    return problems
