"""A real `medtutor serve` (gunicorn) on a scratch database, for end-to-end tests and the load benchmark.

Used by tests/assessment/test_durability.py (SIGKILLed workers, restarts) and by
`medtutor bench exam-load`. The database is a fresh SQLite file or a fresh PostgreSQL database that
is dropped afterwards; the server runs in its own process group with its own var folder, so
nothing touches the instance's own data. Setup and checks that need the ORM run in a child
interpreter with the server's environment (`run_python`), so the caller never opens the scratch
database itself.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PG_ADMIN_URL", "DatabaseUnavailable", "Server", "ServerError", "free_port", "run_python",
           "scratch_database", "server_env"]

PG_ADMIN_URL = os.environ.get("MEDTUTOR_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
START_TIMEOUT = 60.0


class ServerError(RuntimeError):
    """The server did not start, or a child command failed."""


class DatabaseUnavailable(RuntimeError):
    """No PostgreSQL server answers at the admin URL (the caller skips that database)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scratch_database(kind: str, folder: Path, *, admin_url: str = PG_ADMIN_URL, prefix: str = "medtutor_scratch"
                     ) -> Iterator[str]:
    """Yield the URL of a new, empty database: a SQLite file in `folder`, or a PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{prefix}.sqlite3"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}: use sqlite or postgresql")
    try:
        import psycopg
    except ImportError as exc:
        raise DatabaseUnavailable("psycopg is not installed") from exc
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"no PostgreSQL at {admin_url}: {str(exc).strip()}") from exc
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(var: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = os.environ | {"MEDTUTOR_VAR_DIR": str(var), "DATABASE_URL": database_url, **extra}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the child uses medtutor.settings, not a test's settings
    return env


def run_python(args: Sequence[str], env: dict[str, str], *, timeout: float = 300) -> str:
    """Run `python <args>` with `env`; return its stdout, or raise ServerError with its output."""
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise ServerError(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


class Server:
    """`python -m medtutor serve` (it execs gunicorn, so the child's pid is the gunicorn master)."""

    def __init__(self, env: dict[str, str], var: Path, *, workers: int = 2, threads: int = 4):
        self.env, self.var, self.n_workers, self.threads = env, var, workers, threads
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.starts += 1
        log = open(self.var / f"server-{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medtutor", "serve", "--port", str(self.port), "--workers", str(self.n_workers),
             "--threads", str(self.threads)],
            env=self.env, cwd=self.var, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"medtutor serve exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.workers()) == self.n_workers:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"medtutor serve did not answer within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.var.glob("server-*.log")))

    def workers(self) -> list[int]:
        assert self.proc is not None
        pids: list[int] = []
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            try:
                pids += [int(pid) for pid in children.read_text().split()]
            except OSError:
                pass
        return sorted(set(pids))

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers, ended workers included (Linux /proc)."""
        if self.proc is None:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")

        def fields(pid: int) -> list[str]:
            try:
                return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return []

        master = fields(self.proc.pid)
        # After the ")" field 0 is the state; utime, stime, cutime, cstime are fields 11-14.
        total = sum(int(v) for v in master[11:15]) if master else 0
        for pid in self.workers():
            worker = fields(pid)
            total += sum(int(v) for v in worker[11:13]) if worker else 0
        return total / ticks

    def stop(self) -> None:
        """SIGTERM the master (graceful), SIGKILL the whole group if it lingers."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:  # workers of a master that died hard, or one that would not stop
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.wait(timeout=5)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
