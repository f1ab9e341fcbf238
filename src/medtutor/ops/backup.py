"""Backups and restores: one tar file with the database snapshot, the media files and a manifest.

The snapshot is consistent while the server runs: SQLite's online backup API copies a single
transaction-consistent image (writers wait for each page batch, nothing is locked for long), and
pg_dump takes one snapshot in a repeatable-read transaction. Media files are written once and never
changed in place, so copying them after the database snapshot never misses a file the snapshot names.

Restore checks every member against the manifest's SHA-256 before it writes anything, refuses an
archive from the other database kind, and never writes outside the database file and MEDIA_ROOT.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder

from medtutor.core.errors import InvalidInput

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
MAX_MEMBER_BYTES = 20 * 1024**3  # a single member larger than this is refused rather than filling the disk


class BackupError(InvalidInput):
    """The backup or restore could not be made; the message says why and nothing was changed."""


@dataclass(frozen=True)
class BackupMade:
    path: Path
    vendor: str
    media_files: int
    bytes: int


@dataclass(frozen=True)
class Restored:
    vendor: str
    media_files: int
    created_at: str


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pg_env(database: dict) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments; the password goes in the environment, never argv."""
    args = []
    if database.get("HOST"):
        args += ["-h", str(database["HOST"])]
    if database.get("PORT"):
        args += ["-p", str(database["PORT"])]
    if database.get("USER"):
        args += ["-U", str(database["USER"])]
    env = os.environ.copy()
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return args, env


def _snapshot_database(into: Path) -> tuple[str, Path]:
    database = connections["default"].settings_dict
    vendor = connection.vendor
    if vendor == "sqlite":
        target = into / SQLITE_MEMBER
        source = sqlite3.connect(database["NAME"], timeout=30)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy, pages=1024)  # in batches: the server's writers only wait briefly
        finally:
            copy.close()
            source.close()
        return vendor, target
    if vendor == "postgresql":
        target = into / PG_MEMBER
        args, env = _pg_env(database)
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *args,
                               "-f", str(target), database["NAME"]], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip() or done.returncode}")
        return vendor, target
    raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def make_backup(destination: Path, *, progress: Callable[[str], None] = lambda _: None) -> BackupMade:
    """Write a backup tar to `destination` (a file, or a folder to hold a timestamped file)."""
    created = datetime.now(UTC)
    if destination.is_dir():
        destination = destination / f"medtutor-backup-{created:%Y%m%dT%H%M%SZ}.tar"
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    applied = sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())
    with tempfile.TemporaryDirectory(prefix="medtutor-backup-", dir=destination.parent) as scratch:
        progress("snapshotting the database")
        vendor, dump = _snapshot_database(Path(scratch))
        media = _media_files()
        root = Path(settings.MEDIA_ROOT)
        members = {dump.name: _sha256(dump)}
        for path in media:
            members[MEDIA_PREFIX + path.relative_to(root).as_posix()] = _sha256(path)
        manifest = {"format": FORMAT_VERSION, "created_at": created.isoformat(), "vendor": vendor,
                    "migrations": applied, "members": members}
        partial = destination.with_name(destination.name + ".partial")
        progress(f"writing {len(media)} media file(s)")
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(created.timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
            for path in media:
                tar.add(path, arcname=MEDIA_PREFIX + path.relative_to(root).as_posix())
        with open(partial, "rb+") as handle:  # on disk before it is named as finished
            os.fsync(handle.fileno())
        os.replace(partial, destination)
    return BackupMade(destination, vendor, len(media), destination.stat().st_size)


def _safe_member_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name:
        raise BackupError(f"unsafe path in the archive: {name!r}")
    return path


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.getmember(MANIFEST)
            manifest = json.load(tar.extractfile(member))
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError) as error:
        raise BackupError(f"{archive} is not a medtutor backup ({error})") from error
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _verified_extract(archive: Path, manifest: dict, into: Path) -> None:
    """Extract only the members the manifest lists, each checked against its digest."""
    expected = dict(manifest["members"])
    with tarfile.open(archive, "r") as tar:
        for member in tar.getmembers():
            if member.name == MANIFEST:
                continue
            relative = _safe_member_name(member.name)
            if member.name not in expected:
                raise BackupError(f"the archive holds {member.name!r}, which its manifest does not list")
            if not member.isfile():
                raise BackupError(f"{member.name!r} is not a plain file")
            if member.size > MAX_MEMBER_BYTES:
                raise BackupError(f"{member.name!r} is larger than {MAX_MEMBER_BYTES} bytes")
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            if _sha256(target) != expected.pop(member.name):
                raise BackupError(f"{member.name!r} does not match its checksum: the backup is damaged")
    if expected:
        raise BackupError(f"the archive is missing {len(expected)} file(s), e.g. {sorted(expected)[0]!r}")


def restore_backup(archive: Path, *, progress: Callable[[str], None] = lambda _: None) -> Restored:
    """Replace the database and media with the backup's. Stop the app servers first."""
    manifest = read_manifest(archive)
    vendor = connection.vendor
    if manifest["vendor"] != vendor:
        raise BackupError(f"this backup is of a {manifest['vendor']} database; this instance uses {vendor}")
    database = connections["default"].settings_dict
    media_root = Path(settings.MEDIA_ROOT)
    scratch_parent = media_root.parent
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medtutor-restore-", dir=scratch_parent) as scratch:
        progress("checking the archive")
        _verified_extract(archive, manifest, Path(scratch))
        progress("restoring the database")
        connections.close_all()
        if vendor == "sqlite":
            target = Path(database["NAME"])
            restored = sqlite3.connect(Path(scratch) / SQLITE_MEMBER)
            live = sqlite3.connect(target, timeout=30)
            try:
                with live:
                    restored.backup(live)  # page-by-page copy into the live file, WAL and all
            finally:
                live.close()
                restored.close()
        else:
            args, env = _pg_env(database)
            done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                                   "--single-transaction", *args, "-d", database["NAME"],
                                   str(Path(scratch) / PG_MEMBER)], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip() or done.returncode}")
        progress("restoring media")
        extracted = Path(scratch) / MEDIA_PREFIX.rstrip("/")
        old = media_root.with_name(media_root.name + ".before-restore")
        if old.exists():
            shutil.rmtree(old)
        if media_root.exists():
            media_root.rename(old)
        if extracted.exists():
            extracted.rename(media_root)
        else:
            media_root.mkdir(parents=True)
        if old.exists():
            shutil.rmtree(old)
    media = sum(1 for name in manifest["members"] if name.startswith(MEDIA_PREFIX))
    return Restored(vendor, media, manifest["created_at"])
