"""Small JSON-over-HTTP helpers for talking to a platform (stdlib only, with timeouts)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

TIMEOUT = 15


def _open(request: urllib.request.Request) -> tuple[dict, dict]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read()
            headers = dict(response.headers.items())
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode(errors="replace")
        raise OSError(f"{request.full_url.split('?')[0]} answered {error.code}: {detail}") from None
    try:
        return (json.loads(body) if body.strip() else {}), headers
    except ValueError:
        raise OSError(f"{request.full_url.split('?')[0]} did not answer JSON") from None


def get_json(url: str, *, headers: dict | None = None) -> dict:
    return _open(urllib.request.Request(url, headers=headers or {}))[0]


def get_json_with_headers(url: str, *, headers: dict | None = None) -> tuple[dict, dict]:
    return _open(urllib.request.Request(url, headers=headers or {}))


def post(url: str, data: bytes, *, headers: dict) -> dict:
    return _open(urllib.request.Request(url, data=data, headers=headers, method="POST"))[0]
