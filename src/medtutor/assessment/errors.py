"""Exam errors, with their HTTP meaning (Django-free)."""

from __future__ import annotations

from medtutor.core.errors import DomainError


class AttemptClosed(DomainError):
    """The attempt was submitted: nothing in it can change."""
    status = 409
    code = "attempt_closed"


class DeadlinePassed(AttemptClosed):
    """The answer arrived after the deadline: the attempt was submitted without it."""
    code = "deadline_passed"


class AnswerLocked(DomainError):
    """Tutor mode: the item's key was shown, so its answer cannot change."""
    status = 409
    code = "answer_locked"
