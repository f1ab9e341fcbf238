"""`medtutor backup` / `medtutor restore`: a consistent snapshot taken while writes go on, restored
into a fresh instance, on SQLite and PostgreSQL; damaged or hostile archives are refused unchanged."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from medtutor.assessment.liveserver import DatabaseUnavailable, run_python, scratch_database, server_env
from medtutor.ops.backup import MANIFEST, BackupError, _verified_extract, read_manifest

PASSWORD = "correct-horse-battery-9"

# Appends audit records in a loop until killed: the backup must still hold an unbroken hash chain.
WRITER = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
django.setup()
from medtutor.core import audit
n = 0
while True:
    audit.record_action(None, "test.write", data={"n": n})
    n += 1
"""

CHECK = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
django.setup()
from django.conf import settings
from medtutor.accounts.models import User
from medtutor.core.audit import verify_chain
from medtutor.core.models import AuditRecord
report = verify_chain()
image = settings.MEDIA_ROOT / "items" / "heart.png"
print(json.dumps({"users": sorted(User.objects.values_list("username", flat=True)), "chain_ok": report.ok,
                  "writes": AuditRecord.objects.filter(action="test.write").count(),
                  "image": image.read_bytes().hex() if image.exists() else None}))
"""


def _medtutor(args: list[str], env: dict[str, str], *, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "medtutor", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    if ok:
        assert done.returncode == 0, f"medtutor {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def _state(env) -> dict:
    return json.loads(run_python(["-c", CHECK], env).strip().splitlines()[-1])


@pytest.fixture(params=["sqlite", "postgresql"])
def two_instances(request, tmp_path):
    """A source instance with data and a fresh, migrated target instance, both on `kind`."""
    kind = request.param
    try:
        with scratch_database(kind, tmp_path / "a") as source_url, scratch_database(kind, tmp_path / "b") as target_url:
            (tmp_path / "a").mkdir(exist_ok=True)
            (tmp_path / "b").mkdir(exist_ok=True)
            source = server_env(tmp_path / "a", source_url, MEDTUTOR_PASSWORD=PASSWORD)
            target = server_env(tmp_path / "b", target_url, MEDTUTOR_PASSWORD=PASSWORD)
            for env in (source, target):
                _medtutor(["migrate"], env)
            yield kind, source, target, tmp_path
    except DatabaseUnavailable as exc:
        pytest.skip(str(exc))


def test_backup_during_writes_restores_into_a_fresh_instance(two_instances):
    kind, source, target, tmp_path = two_instances
    _medtutor(["createuser", "alice", "--role", "faculty"], source)
    image = tmp_path / "a" / "media" / "items" / "heart.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\n-heart-")
    writer = subprocess.Popen([sys.executable, "-c", WRITER], env=source, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        time.sleep(2.0)  # writes are going on when the snapshot starts
        assert writer.poll() is None, writer.stderr.read().decode()
        made = _medtutor(["backup", str(tmp_path / "backups")], source)
    finally:
        writer.kill()
        writer.wait()
    archive = next((tmp_path / "backups").glob("medtutor-backup-*.tar"))
    assert "backup written" in made.stdout and kind in made.stdout
    manifest = read_manifest(archive)
    assert manifest["vendor"] == kind and "media/items/heart.png" in manifest["members"]
    assert any(m.startswith("core.") for m in manifest["migrations"])

    _medtutor(["createuser", "bob"], target)
    restored = _medtutor(["restore", str(archive), "--yes"], target)
    assert "restored" in restored.stdout
    state = _state(target)
    assert state["users"] == ["alice"]  # the target's own data is replaced, not merged
    assert state["chain_ok"] and state["writes"] > 0  # consistent: a whole prefix of the writes, chain intact
    assert bytes.fromhex(state["image"]) == image.read_bytes()
    assert _medtutor(["audit", "verify"], target).returncode == 0


def test_a_damaged_backup_is_refused_and_nothing_changes(two_instances):
    kind, source, target, tmp_path = two_instances
    _medtutor(["createuser", "alice"], source)
    _medtutor(["backup", str(tmp_path / "good.tar")], source)
    _medtutor(["createuser", "bob"], target)
    with tarfile.open(tmp_path / "good.tar") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    database = next(name for name in members if name.startswith("database."))
    members[database] = members[database][:-64] + bytes(64)  # damaged in transit
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = _medtutor(["restore", str(tmp_path / "bad.tar"), "--yes"], target, ok=False)
    assert refused.returncode != 0 and "checksum" in refused.stderr and "nothing was changed" in refused.stderr
    assert _state(target)["users"] == ["bob"]


def test_a_backup_of_the_other_database_kind_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    env = server_env(tmp_path / "a", f"sqlite:///{tmp_path}/a/db.sqlite3", MEDTUTOR_PASSWORD=PASSWORD)
    manifest = {"format": 1, "created_at": "2026-01-01T00:00:00+00:00", "vendor": "postgresql", "migrations": [],
                "members": {}}
    _tar(tmp_path / "pg.tar", {MANIFEST: json.dumps(manifest).encode()})
    _medtutor(["migrate"], env)
    refused = _medtutor(["restore", str(tmp_path / "pg.tar"), "--yes"], env, ok=False)
    assert refused.returncode != 0 and "postgresql" in refused.stderr and "sqlite" in refused.stderr


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/evil", "media/../../escape.txt"])
def test_paths_outside_the_restore_folder_are_refused(tmp_path, name):
    _tar(tmp_path / "evil.tar", {name: b"x"})
    manifest = {"members": {name: "0" * 64}}
    with pytest.raises(BackupError, match="unsafe path"):
        _verified_extract(tmp_path / "evil.tar", manifest, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_members_the_manifest_does_not_list_or_misses_are_refused(tmp_path):
    _tar(tmp_path / "extra.tar", {"media/x.png": b"x"})
    with pytest.raises(BackupError, match="does not list"):
        _verified_extract(tmp_path / "extra.tar", {"members": {}}, tmp_path / "out")
    _tar(tmp_path / "short.tar", {})
    with pytest.raises(BackupError, match="missing 1 file"):
        _verified_extract(tmp_path / "short.tar", {"members": {"database.sqlite3": "0" * 64}}, tmp_path / "out2")


def test_not_a_backup(tmp_path):
    (tmp_path / "notes.tar").write_bytes(b"hello")
    with pytest.raises(BackupError, match="not a medtutor backup"):
        read_manifest(tmp_path / "notes.tar")
