"""Domain errors. Views and the API turn them into 4xx responses with the message shown to the user.

DomainError
 ├── NotFound        404
 ├── PermissionDenied 403
 └── InvalidInput    400 (carries per-field or per-line details)
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class InvalidInput(DomainError):
    status = 400
