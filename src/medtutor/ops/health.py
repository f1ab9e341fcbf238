"""Readiness (database, cache, migrations) and medtutor's own deployment checks.

`/healthz` only says the process answers; `/readyz` says it can serve: a load balancer should send
traffic only to instances whose /readyz is 200. `medtutor check --deploy` adds Django's deployment
checks to the ones below, which know how medtutor is configured.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str      # ok, warn or fail
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return Check("database", FAIL, f"{connection.vendor} is not reachable: {str(error).strip()}")
    return Check("database", OK, f"{connection.vendor} answers")


def check_cache() -> Check:
    key = f"readyz:{secrets.token_hex(4)}"
    try:
        cache.set(key, "1", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception as error:  # noqa: BLE001 - any backend failure means "not ready"
        return Check("cache", FAIL, f"the cache is not reachable: {type(error).__name__}: {error}")
    if value != "1":
        return Check("cache", FAIL, "the cache did not keep a value for five seconds")
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return Check("cache", OK, f"{backend} answers")


def check_migrations() -> Check:
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return Check("migrations", FAIL, f"cannot read the migration table: {str(error).strip()}")
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
        return Check("migrations", FAIL, f"{len(pending)} migration(s) not applied (run medtutor migrate): {names}")
    return Check("migrations", OK, "all applied")


def readiness() -> list[Check]:
    database = check_database()
    checks = [database, check_cache()]
    if database.status == OK:
        checks.append(check_migrations())
    return checks


def deployment_checks() -> list[Check]:
    """What a production instance should have; FAIL blocks a deployment, WARN asks for a look."""
    checks = readiness()
    if os.environ.get("SECRET_KEY"):
        weak = len(settings.SECRET_KEY) < 50 or len(set(settings.SECRET_KEY)) < 5
        checks.append(Check("secret key", FAIL if weak else OK,
                            "SECRET_KEY is too short or too simple (50+ random characters)" if weak
                            else "from the environment"))
    else:
        checks.append(Check("secret key", WARN, "generated into var/secret_key: fine on one machine; several app "
                                                "servers need the same SECRET_KEY from the environment"))
    checks.append(Check("debug", FAIL if settings.DEBUG else OK, "DEBUG is on: turn it off" if settings.DEBUG
                        else "off"))
    checks.append(Check("https", OK if settings.HTTPS else FAIL,
                        "secure cookies and HSTS" if settings.HTTPS else
                        "MEDTUTOR_HTTPS is off: set it behind TLS (cookies would travel in clear text)"))
    hosts = settings.ALLOWED_HOSTS
    local_only = set(hosts) <= {"127.0.0.1", "localhost", "::1"}
    checks.append(Check("allowed hosts", FAIL if "*" in hosts else WARN if local_only else OK,
                        "ALLOWED_HOSTS contains '*'" if "*" in hosts else
                        "ALLOWED_HOSTS only names this machine" if local_only else ", ".join(hosts)))
    if connection.vendor == "sqlite":
        checks.append(Check("database kind", WARN, "SQLite serves one machine well; several app servers need "
                                                   "PostgreSQL (see the README's Deploying section)"))
    if not os.environ.get("REDIS_URL"):
        checks.append(Check("shared cache", WARN, "no REDIS_URL: rate limits and caches are per process; "
                                                  "several app servers need a shared Redis"))
    return checks
