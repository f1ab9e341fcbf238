"""/metrics: Prometheus counters by view, summed over every gunicorn worker, for this machine or a token."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

from medtutor.assessment.liveserver import Server, server_env

def _count_pattern(view: str) -> re.Pattern[str]:
    return re.compile(r'^django_http_requests_total_by_view_transport_method_total\{method="GET",transport="http",'
                      rf'view="{view}"\}} ([0-9.]+)$', re.M)


HEALTHZ_COUNT = _count_pattern("healthz")
# The server's start-up probe polls /healthz and may give up on a slow answer that the server still counts
# later; /readyz is never probed, so its count moves only with this test's requests.
READYZ_COUNT = _count_pattern("readyz")


def test_metrics_count_requests_by_view(client, db):
    client.get("/healthz")
    page = client.get("/metrics")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/plain")
    assert float(HEALTHZ_COUNT.search(page.content.decode()).group(1)) >= 1


def test_metrics_are_for_this_machine_or_a_token_holder(client, db, settings):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    settings.METRICS_TOKEN = "scrape-8c1f0e"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer scrape-8c1f0e").status_code == 200


def _readyz_count(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        found = READYZ_COUNT.search(response.read().decode())
        return float(found.group(1)) if found else 0.0


def test_metrics_add_up_over_gunicorn_workers(tmp_path):
    env = server_env(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    subprocess.run([sys.executable, "-m", "medtutor", "migrate"], env=env, check=True, capture_output=True)
    with Server(env, tmp_path, workers=2) as server:
        before = _readyz_count(server.base)
        for _ in range(30):  # spread over both workers by the kernel's accept queue
            urllib.request.urlopen(server.base + "/readyz", timeout=10).read()
        assert _readyz_count(server.base) == before + 30
