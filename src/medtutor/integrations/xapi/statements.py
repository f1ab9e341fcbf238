"""xAPI 1.0.3 statements for medtutor's learning events. Pure: plain values in, JSON-ready dicts out.

Statement ids are derived from the event (uuid5 of the site and the event's own id), so sending one
twice is recognisable: the LRS keeps one copy, and a retry after a lost acknowledgement is harmless.
Actors are pseudonymous accounts (an HMAC of the user id with a site secret), never names or e-mails.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

ANSWERED = ("http://adlnet.gov/expapi/verbs/answered", "answered")
REVIEWED = ("http://id.tincanapi.com/verb/reviewed", "reviewed")
COMPLETED = ("http://adlnet.gov/expapi/verbs/completed", "completed")
QUESTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
FLASHCARD = "http://id.tincanapi.com/activitytype/resource"
ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
PLATFORM = "medtutor"


def pseudonym(user_id: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"user:{user_id}".encode(), hashlib.sha256).hexdigest()[:24]


def statement_id(homepage: str, kind: str, event_id: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{homepage.rstrip('/')}/xapi/{kind}/{event_id}"))


def _actor(homepage: str, name: str) -> dict:
    return {"objectType": "Agent", "account": {"homePage": homepage, "name": name}}


def _activity(homepage: str, path: str, kind: str, name: str) -> dict:
    return {"objectType": "Activity", "id": f"{homepage.rstrip('/')}/{path}",
            "definition": {"type": kind, "name": {"en": name[:200]}}}


def _base(homepage: str, kind: str, event_id: int, actor: str, verb: tuple[str, str], obj: dict,
          at: datetime) -> dict:
    if at.tzinfo is None:
        raise ValueError("xAPI timestamps must be timezone-aware")
    return {"id": statement_id(homepage, kind, event_id), "actor": _actor(homepage, actor),
            "verb": {"id": verb[0], "display": {"en-US": verb[1]}}, "object": obj,
            "timestamp": at.isoformat(), "context": {"platform": PLATFORM}}


def answered(homepage: str, *, event_id: int, actor: str, item_key: str, item_title: str, correct: bool,
             at: datetime, seconds: int | None) -> dict:
    statement = _base(homepage, "answer", event_id, actor, ANSWERED,
                      _activity(homepage, f"items/{item_key}", QUESTION, item_title), at)
    statement["result"] = {"success": correct, "score": {"scaled": 1.0 if correct else 0.0}}
    if seconds is not None:
        statement["result"]["duration"] = f"PT{int(seconds)}S"
    return statement


def reviewed(homepage: str, *, event_id: int, actor: str, card_key: str, card_title: str, grade: int,
             at: datetime) -> dict:
    statement = _base(homepage, "review", event_id, actor, REVIEWED,
                      _activity(homepage, f"cards/{card_key}", FLASHCARD, card_title), at)
    statement["result"] = {"success": grade > 1, "extensions": {
        f"{homepage.rstrip('/')}/xapi/extensions/fsrs-grade": grade}}
    return statement


def completed_exam(homepage: str, *, event_id: int, actor: str, exam_id: int, exam_title: str, correct: int,
                   total: int, at: datetime) -> dict:
    statement = _base(homepage, "attempt", event_id, actor, COMPLETED,
                      _activity(homepage, f"exams/{exam_id}", ASSESSMENT, exam_title), at)
    statement["result"] = {"completion": True, "score": {"raw": correct, "min": 0, "max": total,
                                                         "scaled": round(correct / total, 4) if total else 0.0}}
    return statement
