"""Request ids on every response and log line; the JSON log format."""

from __future__ import annotations

import json
import logging

from medtutor.core.log import JsonFormatter, RequestIdFilter, incoming_request_id, request_id


def test_every_response_has_a_request_id(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_proxys_sane_id_is_kept_and_anything_else_replaced(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c1d")["X-Request-ID"] == "lb-7f3a9c1d"
    for hostile in ("short", "x" * 65, "id with spaces", "evil\nInjected: yes", "<script>"):
        replaced = incoming_request_id(hostile)
        assert replaced != hostile and len(replaced) == 32


def test_log_records_carry_the_request_id_as_json():
    record = logging.LogRecord("medtutor.test", logging.WARNING, __file__, 1, "saved %s answers", (3,), None)
    token = request_id.set("req-12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-12345678" and line["message"] == "saved 3 answers"
    assert line["level"] == "WARNING" and line["logger"] == "medtutor.test" and line["time"].endswith("+00:00")


def test_outside_a_request_the_id_is_a_dash():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"
