"""Privacy: a user's data export, deletion on request (an administrator confirms), analytics opt-out, retention.

Where personal data lives, and what deletion does with it (POLICY, keyed by "app.Model.field" of every
foreign key to the user model; tests/governance/test_privacy.py fails when a new one is not listed):

- DELETE: rows about the person (cards, reviews, plans, sessions, tokens, accommodations, memberships...)
  are deleted, with everything that cascades from them (session events, personal cards' images).
- KEEP: answers needed for item statistics (exam attempts, practice answers) stay, attached to the
  anonymised account; their free text (notes, short-answer text) is cleared and rest breaks (which reveal
  an accommodation) are deleted. Item analysis and IRT calibration therefore still count them.
- STAFF: records the user made as staff (authored items, exams, reviews, calibration runs) are the
  institution's; they keep pointing at the anonymised account.
- AUDIT: the audit log is append-only and hash-chained (core/audit.py); editing or deleting a record
  would break the chain, so records are kept untouched. Deletion instead turns the user row into a
  tombstone: username `deleted-<random hex>`, names and e-mail cleared, unusable password, inactive.
  Records keep pointing at that pseudonymous account; the `actor_label` written at the time stays in the
  chain (documented limit: it is the only place the old username survives).

Outside the database: the user's sessions are ended, user-scoped cache entries are cleared
(`user_cache_set` registers them; no other code caches per-user data today), the xAPI outbox loses the
user's statements (matched by their pseudonym), login-throttling records (django-axes) go, and image
files of personal cards are removed from MEDIA_ROOT when no other card uses them. The only search index
(`content.Item.search_text`) holds item text, never learner data; the tests check that too.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q

from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.errors import InvalidInput, PermissionDenied
from medtutor.core.models import AuditRecord
from medtutor.governance.models import DeletionRequest, DeletionStatus, PrivacySettings

DELETE, KEEP, STAFF, AUDIT = "delete", "keep", "staff", "audit"

POLICY: dict[str, str] = {
    "core.AuditRecord.actor": AUDIT,
    "accounts.User_groups.user": DELETE,
    "accounts.User_user_permissions.user": DELETE,
    "accounts.Cohort_members.user": DELETE,
    "accounts.Accommodation.user": DELETE,
    "accounts.ApiToken.user": DELETE,
    "accounts.ExternalIdentity.user": DELETE,
    "accounts.SubgroupAttribute.user": DELETE,   # sensitive (fairness audits): exported to the person, deleted with them
    "content.Item.created_by": STAFF,
    "content.ItemVersion.created_by": STAFF,
    "content.Card.created_by": STAFF,  # personal cards are deleted through learning.PersonalCard
    "learning.ItemResponse.learner": KEEP,
    "learning.CardState.learner": DELETE,
    "learning.CardReview.learner": DELETE,
    "learning.PersonalCard.learner": DELETE,
    "learning.DeckSettings.learner": DELETE,
    "learning.StudyPlan.learner": DELETE,
    "assessment.Exam.created_by": STAFF,
    "assessment.ExamOverride.student": DELETE,
    "assessment.ExamOverride.updated_by": STAFF,
    "assessment.Attempt.student": KEEP,
    "assessment.CalibrationRun.created_by": STAFF,
    "assessment.StandardSetting.created_by": STAFF,
    "assessment.ShortAnswerResponse.reviewer": STAFF,
    "simulation.Case.author": STAFF,
    "simulation.CaseAssignment.assigned_by": STAFF,
    "simulation.Session.student": DELETE,
    "decision.RegisteredModel.trained_by": STAFF,
    "decision.RiskExerciseAnswer.learner": DELETE,
    "decision.TrainerSession.learner": DELETE,
    "integrations.LtiLaunch.user": DELETE,   # with the platform's subject id; scores still queued go with it
    "governance.PrivacySettings.user": DELETE,
    "governance.DeletionRequest.user": STAFF,      # the decision stays on record (reason text cleared)
    "governance.DeletionRequest.decided_by": STAFF,
    "governance.Contest.student": KEEP,       # the review's outcome stays, anonymised (reason/response cleared)
    "governance.Contest.reviewer": STAFF,
    "governance.ChainCheck.checked_by": STAFF,
    "governance.LessonCompletion.user": DELETE,
    "governance.QuizAttempt.user": DELETE,
    "analytics.EarlyWarningRun.created_by": STAFF,
    "analytics.EarlyWarningFlag.student": DELETE,     # a prediction about the person, with the decisions on it
    "analytics.EarlyWarningDecision.decided_by": STAFF,
    "analytics.SyntheticStudentTruth.student": DELETE,
    # Pre-aggregated answer statistics (analytics/aggregates.py; the refresh never folds excluded users in).
    "analytics.LearnerCompetencyTotal.learner": DELETE,
    "analytics.LearnerWeekTotal.learner": DELETE,
    "analytics.LearnerItemMonth.learner": DELETE,
}

# Free text kept rows may hold: cleared on deletion ("app.Model": [fields]).
SCRUB_TEXT = {"assessment.AttemptItem": ["note"], "assessment.ShortAnswerResponse": ["text"],
              "governance.Contest": ["reason", "response"]}
# Children of kept rows that reveal more than an answer: deleted (rest breaks reveal an accommodation).
DELETE_CHILDREN = {"assessment.AttemptBreak"}

_CACHE_INDEX = "privacy:user-keys:{user_id}"


def user_reference_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every concrete foreign key or one-to-one field, in every installed model, that points at a user."""
    user_model = get_user_model()
    found = []
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.get_fields():
            if (f.concrete and f.is_relation and (f.many_to_one or f.one_to_one)
                    and f.related_model is user_model):
                found.append((model, f))
    return found


def field_key(model: type[models.Model], f: models.Field) -> str:
    return f"{model._meta.label}.{f.name}"


def unhandled_fields() -> list[str]:
    return sorted(field_key(m, f) for m, f in user_reference_fields() if field_key(m, f) not in POLICY)


# --- analytics opt-out ---------------------------------------------------------------------------------

def privacy_settings(user: Any) -> PrivacySettings:
    found = PrivacySettings.objects.filter(user=user).first()
    return found or PrivacySettings(user=user, analytics_opt_out=False, updated_at=clock.now())


def set_analytics_opt_out(user: Any, opt_out: bool) -> PrivacySettings:
    with transaction.atomic():
        row, _ = PrivacySettings.objects.update_or_create(
            user=user, defaults={"analytics_opt_out": bool(opt_out), "updated_at": clock.now()})
        record_action(user, "privacy.analytics_opt_out" if opt_out else "privacy.analytics_opt_in", subject=user)
    return row


def analytics_excluded_user_ids() -> set[int]:
    """Users whose data analytics that grading does not need must leave out: those who opted out, and
    deleted (anonymised) accounts, whose kept answers serve item statistics only."""
    opted_out = PrivacySettings.objects.filter(analytics_opt_out=True).values_list("user_id", flat=True)
    deleted = DeletionRequest.objects.filter(status=DeletionStatus.CONFIRMED).values_list("user_id", flat=True)
    return set(opted_out) | set(deleted)


# --- user-scoped cache -----------------------------------------------------------------------------------

def user_cache_key(user_id: int, name: str) -> str:
    return f"user:{user_id}:{name}"


def user_cache_set(user_id: int, name: str, value: Any, timeout: int | None = None) -> str:
    """Cache a value that is about one user; deletion of that user clears it. Use this for any per-user cache."""
    key = user_cache_key(user_id, name)
    index_key = _CACHE_INDEX.format(user_id=user_id)
    keys = set(cache.get(index_key) or ())
    keys.add(key)
    cache.set(index_key, sorted(keys), None)
    cache.set(key, value, timeout)
    return key


def clear_user_cache(user_id: int) -> int:
    index_key = _CACHE_INDEX.format(user_id=user_id)
    keys = list(cache.get(index_key) or ())
    cache.delete_many(keys + [index_key])
    return len(keys)


# --- export ----------------------------------------------------------------------------------------------

@dataclass
class Collected:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, label: str, rows: list[dict[str, Any]]) -> None:
        table = self.tables.setdefault(label, [])
        seen = {json.dumps(row, cls=DjangoJSONEncoder, sort_keys=True) for row in table}
        table.extend(row for row in rows if json.dumps(row, cls=DjangoJSONEncoder, sort_keys=True) not in seen)
        if not table:
            del self.tables[label]


def _children(model: type[models.Model]) -> list[tuple[type[models.Model], models.Field]]:
    """Models whose rows cascade from `model` (they belong to the same person)."""
    found = []
    for rel in model._meta.related_objects:
        if (rel.on_delete is models.CASCADE and (rel.one_to_many or rel.one_to_one)
                and not rel.related_model._meta.auto_created):
            found.append((rel.related_model, rel.field))
    return found


# Columns left out of the export: secrets' digests say nothing about the person and only help an attacker.
EXPORT_OMIT = {"accounts.ApiToken": {"digest"}}


def _rows(qs: models.QuerySet) -> list[dict[str, Any]]:
    omit = EXPORT_OMIT.get(qs.model._meta.label, set())
    return [{k: v for k, v in row.items() if k not in omit} for row in qs.order_by("pk").values()]


def _collect_tree(out: Collected, model: type[models.Model], qs: models.QuerySet, depth: int = 0) -> None:
    rows = _rows(qs)
    out.add(model._meta.label, rows)
    if not rows or depth > 3:
        return
    ids = [row["id"] if "id" in row else row[model._meta.pk.attname] for row in rows]
    for child, fk in _children(model):
        _collect_tree(out, child, child.objects.filter(**{f"{fk.name}__in": ids}), depth + 1)


def collect(user: Any) -> Collected:
    """Everything stored about `user`, table by table (the user's own rows and what cascades from them)."""
    out = Collected()
    user_model = get_user_model()
    profile = user_model.objects.filter(pk=user.pk).values(
        "id", "username", "first_name", "last_name", "display_name", "email", "role", "is_active",
        "date_joined", "last_login")
    out.add(user_model._meta.label, [dict(r) for r in profile])
    for model, f in user_reference_fields():
        key = field_key(model, f)
        if POLICY.get(key) not in (DELETE, KEEP) and key != "governance.DeletionRequest.user":
            continue
        qs = model.objects.filter(**{f.name: user})
        if model._meta.auto_created:
            out.add(model._meta.label, _rows(qs))
        else:
            _collect_tree(out, model, qs)
    from medtutor.learning.models import PersonalCard

    card_model = PersonalCard._meta.get_field("card").related_model
    card_ids = list(PersonalCard.objects.filter(learner=user).values_list("card_id", flat=True))
    _collect_tree(out, card_model, card_model.objects.filter(pk__in=card_ids))
    out.add("accounts.Cohort (memberships)",
            [{"code": c.code, "name": c.name, "year": c.year} for c in user.cohorts.all()])
    out.add(AuditRecord._meta.label, _rows(_audit_records(user, out)))
    return out


def _audit_records(user: Any, found: Collected) -> models.QuerySet:
    """Records the user made, or about the user or any of their exported rows."""
    about = Q(actor=user) | Q(subject_type=get_user_model()._meta.label_lower, subject_id=str(user.pk))
    audited_types = set(AuditRecord.objects.values_list("subject_type", flat=True).distinct())
    for label, rows in found.tables.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        ids = [str(row.get("id")) for row in rows if row.get("id") is not None]
        if ids and not model._meta.auto_created and model._meta.label_lower in audited_types:
            about |= Q(subject_type=model._meta.label_lower, subject_id__in=ids)
    return AuditRecord.objects.filter(about)


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v, cls=DjangoJSONEncoder) if isinstance(v, (dict, list)) else
                         (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()})
    return buffer.getvalue()


def _csv_name(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in label).strip("_") + ".csv"


def export_zip(user: Any, *, actor: Any = None) -> tempfile.SpooledTemporaryFile:
    """A zip with data.json (every table) and one CSV per table; audited. Returns the file, rewound."""
    found = collect(user)
    document = {"format": "medtutor-personal-data-export/1", "user_id": user.pk,
                "exported_at": clock.now().isoformat(), "tables": found.tables}
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, cls=DjangoJSONEncoder, indent=1, ensure_ascii=False))
        for label, rows in found.tables.items():
            archive.writestr(f"csv/{_csv_name(label)}", _csv_text(rows))
        archive.writestr("README.txt", _EXPORT_README)
    spooled.seek(0)
    record_action(actor or user, "privacy.export", subject=user,
                  data={"tables": {label: len(rows) for label, rows in found.tables.items()}})
    return spooled


_EXPORT_README = """Your medtutor data export.

data.json holds every table that stores something about you, keyed by table name; csv/ holds the same
tables as one CSV file each. Ids refer to rows inside medtutor. core.AuditRecord lists the audit-log
records you made or that are about you (the audit log cannot be edited, see the privacy page).
"""


def table_title(label: str) -> str:
    """A reader's name for an export table label ("learning.CardReview" -> "card reviews")."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return label
    if model._meta.auto_created:
        return label.split(".")[-1].replace("_", " ").lower()
    return str(model._meta.verbose_name_plural)


def summary_counts(user: Any) -> dict[str, int]:
    return {label: len(rows) for label, rows in collect(user).tables.items()}


# --- deletion --------------------------------------------------------------------------------------------

def request_deletion(user: Any, reason: str = "") -> DeletionRequest:
    if not getattr(user, "is_active", False):
        raise InvalidInput("account: this account is no longer active")
    with transaction.atomic():
        if DeletionRequest.objects.filter(user=user, status=DeletionStatus.PENDING).exists():
            raise InvalidInput("request: you already have a deletion request waiting for an administrator")
        created = DeletionRequest.objects.create(user=user, requested_at=clock.now(), reason=reason.strip()[:2000])
        record_action(user, "privacy.deletion_requested", subject=created)
    return created


def withdraw_deletion(user: Any) -> bool:
    with transaction.atomic():
        pending = DeletionRequest.objects.select_for_update().filter(user=user, status=DeletionStatus.PENDING).first()
        if pending is None:
            return False
        pending.status, pending.decided_at = DeletionStatus.WITHDRAWN, clock.now()
        pending.save(update_fields=["status", "decided_at"])
        record_action(user, "privacy.deletion_withdrawn", subject=pending)
    return True


def decline_deletion(request_id: int, admin: Any, reason: str) -> DeletionRequest:
    if not reason.strip():
        raise InvalidInput("reason: say why the request is declined (the user sees it)")
    with transaction.atomic():
        pending = _pending_for_admin(request_id, admin)
        pending.status, pending.decided_by, pending.decided_at = DeletionStatus.DECLINED, admin, clock.now()
        pending.decision_reason = reason.strip()[:2000]
        pending.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record_action(admin, "privacy.deletion_declined", subject=pending, data={"reason": pending.decision_reason})
    return pending


def _pending_for_admin(request_id: int, admin: Any) -> DeletionRequest:
    if getattr(admin, "role", None) != "admin" or not admin.is_active:
        raise PermissionDenied("only a program administrator decides deletion requests")
    pending = (DeletionRequest.objects.select_for_update().select_related("user")
               .filter(pk=request_id, status=DeletionStatus.PENDING).first())
    if pending is None:
        raise InvalidInput(f"request: no pending deletion request {request_id}")
    if pending.user_id == admin.pk:
        raise PermissionDenied("another administrator must decide your own deletion request")
    return pending


def confirm_deletion(request_id: int, admin: Any) -> DeletionRequest:
    """Delete the requester's personal data in one transaction, then end their sessions and clear caches."""
    media_files: list[str] = []
    with transaction.atomic():
        pending = _pending_for_admin(request_id, admin)
        user = pending.user
        summary = _delete_personal_data(user, media_files)
        pending.status, pending.decided_by, pending.decided_at = DeletionStatus.CONFIRMED, admin, clock.now()
        pending.reason, pending.summary = "", summary
        pending.save(update_fields=["status", "decided_by", "decided_at", "reason", "summary"])
        record_action(admin, "privacy.deletion_confirmed", subject=pending,
                      data={"tombstone": user.username, "summary": summary})
        transaction.on_commit(lambda: _remove_media(media_files))
    summary["sessions"] = end_sessions(user.pk)
    summary["cache_keys"] = clear_user_cache(user.pk)
    return pending


def _delete_personal_data(user: Any, media_files: list[str]) -> dict[str, int]:
    missing = unhandled_fields()
    if missing:  # a model added since this list was written: refuse rather than leave data behind
        raise InvalidInput(f"policy: privacy.POLICY does not say how to delete {', '.join(missing)}; nothing was deleted")
    summary: dict[str, int] = {}
    old_username = user.username
    from medtutor.integrations.models import CardImage
    from medtutor.learning.models import PersonalCard

    card_ids = list(PersonalCard.objects.filter(learner=user).values_list("card_id", flat=True))
    images = CardImage.objects.filter(card_id__in=card_ids)
    media_files += [p for p in images.values_list("path", flat=True)
                    if not CardImage.objects.filter(path=p).exclude(card_id__in=card_ids).exists()]
    card_model = PersonalCard._meta.get_field("card").related_model
    summary["content.Card (personal)"] = card_model.objects.filter(pk__in=card_ids).delete()[0]

    for model, f in user_reference_fields():
        policy = POLICY[field_key(model, f)]
        qs = model.objects.filter(**{f.name: user})
        if policy == DELETE:
            count = qs.delete()[0]
            if count:
                summary[model._meta.label] = count
        elif policy == KEEP:
            summary[model._meta.label + " (kept, anonymised)"] = _scrub_kept(model, qs)
    DeletionRequest.objects.filter(user=user).exclude(reason="").update(reason="")

    summary["integrations.XapiStatement"] = _delete_xapi(user.pk)
    summary["axes"] = _delete_login_records(old_username)

    user.username = f"deleted-{secrets.token_hex(8)}"
    user.first_name = user.last_name = user.email = ""
    if hasattr(user, "display_name"):
        user.display_name = ""
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.save()
    return {k: v for k, v in summary.items() if v}


def _scrub_kept(model: type[models.Model], qs: models.QuerySet) -> int:
    count = qs.count()
    if model._meta.label in SCRUB_TEXT:  # the kept rows' own free text (e.g. a contest's reason)
        qs.update(**{name: "" for name in SCRUB_TEXT[model._meta.label]})
    pending = [(model, list(qs.values_list("pk", flat=True)))]
    while pending:
        parent, ids = pending.pop()
        for child, fk in _children(parent):
            rows = child.objects.filter(**{f"{fk.name}__in": ids})
            if child._meta.label in DELETE_CHILDREN:
                rows.delete()
                continue
            if child._meta.label in SCRUB_TEXT:
                rows.update(**{name: "" for name in SCRUB_TEXT[child._meta.label]})
            pending.append((child, list(rows.values_list("pk", flat=True))))
    return count


def _delete_xapi(user_id: int) -> int:
    from medtutor.integrations.models import XapiStatement
    from medtutor.integrations.xapi.statements import pseudonym

    return XapiStatement.objects.filter(payload__actor__account__name=pseudonym(user_id, settings.SECRET_KEY)).delete()[0]


def _delete_login_records(username: str) -> int:
    try:
        config = apps.get_app_config("axes")
    except LookupError:
        return 0
    count = 0
    for model in config.get_models():
        if any(f.name == "username" for f in model._meta.fields):
            count += model.objects.filter(username=username).delete()[0]
    return count


def _remove_media(paths: list[str]) -> None:
    root = Path(settings.MEDIA_ROOT).resolve()
    for relative in paths:
        target = (root / relative).resolve()
        if target.is_relative_to(root) and target.is_file():
            target.unlink()


def end_sessions(user_id: int) -> int:
    """End every session signed in as the user (database-backed session engines)."""
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    try:
        session_model = store_class.get_model_class()
    except AttributeError:  # cache/cookie sessions: nothing to list; they expire with SESSION_COOKIE_AGE
        return 0
    ended = 0
    for session in session_model.objects.filter(expire_date__gt=clock.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            store_class(session.session_key).delete()
            ended += 1
    return ended


# --- retention -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PurgeReport:
    counts: dict[str, int]

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.counts.items())


def retention_days() -> dict[str, int]:
    return {
        "api_tokens": settings.MEDTUTOR_RETENTION_DAYS_API_TOKENS,
        "login_records": settings.MEDTUTOR_RETENTION_DAYS_LOGIN_RECORDS,
        "xapi_sent": settings.MEDTUTOR_RETENTION_DAYS_XAPI_SENT,
        "deletion_requests": settings.MEDTUTOR_RETENTION_DAYS_DELETION_REQUESTS,
        "inactive_students": settings.MEDTUTOR_RETENTION_DAYS_INACTIVE_STUDENTS,
        "deleted_answers": settings.MEDTUTOR_RETENTION_DAYS_DELETED_ANSWERS,
    }


def purge(now: Any = None) -> PurgeReport:
    """Delete what is past its retention period. Safe to repeat; 0 days turns a rule off."""
    from medtutor.accounts.models import ApiToken
    from medtutor.integrations.models import XapiStatement

    now = now or clock.now()
    days = retention_days()
    counts: dict[str, int] = {}
    with transaction.atomic():
        if days["api_tokens"]:
            cutoff = now - timedelta(days=days["api_tokens"])
            stale = (Q(revoked_at__lt=cutoff) | Q(last_used_at__lt=cutoff)
                     | Q(last_used_at__isnull=True, created_at__lt=cutoff))
            counts["api tokens"] = ApiToken.objects.filter(stale).delete()[0]
        if days["xapi_sent"]:
            counts["sent xAPI statements"] = XapiStatement.objects.filter(
                sent_at__lt=now - timedelta(days=days["xapi_sent"])).delete()[0]
        if days["login_records"]:
            counts["login records"] = _purge_login_records(now - timedelta(days=days["login_records"]))
        if days["deletion_requests"]:
            counts["deletion request reasons"] = DeletionRequest.objects.exclude(
                status=DeletionStatus.PENDING).filter(
                decided_at__lt=now - timedelta(days=days["deletion_requests"])).exclude(
                reason="", decision_reason="").update(reason="", decision_reason="")
        if days["deleted_answers"]:
            counts["answers of deleted accounts"] = _purge_kept_answers(
                now - timedelta(days=days["deleted_answers"]))
        if days["inactive_students"]:
            counts["deletion requests filed for inactive students"] = _file_inactive(
                now - timedelta(days=days["inactive_students"]), now)
    counts["expired sessions"] = _purge_sessions(now)
    return PurgeReport(counts)


def _purge_login_records(cutoff: Any) -> int:
    try:
        config = apps.get_app_config("axes")
    except LookupError:
        return 0
    count = 0
    for model in config.get_models():
        names = {f.name for f in model._meta.fields}
        for stamp in ("attempt_time", "logout_time"):
            if stamp in names:
                count += model.objects.filter(**{f"{stamp}__lt": cutoff}).delete()[0]
                break
    return count


def _purge_kept_answers(cutoff: Any) -> int:
    """Answers kept for item statistics on accounts deleted before `cutoff`: deleted at last (every KEEP table)."""
    deleted_users = list(DeletionRequest.objects.filter(status=DeletionStatus.CONFIRMED, decided_at__lt=cutoff)
                         .values_list("user_id", flat=True))
    if not deleted_users:
        return 0
    count = 0
    for model, f in user_reference_fields():
        if POLICY.get(field_key(model, f)) == KEEP:
            count += model.objects.filter(**{f"{f.name}__in": deleted_users}).delete()[0]
    return count


def _file_inactive(cutoff: Any, now: Any) -> int:
    """Students who have not signed in since `cutoff` get a deletion request an administrator decides."""
    user_model = get_user_model()
    stale = (user_model.objects.filter(role="student", is_active=True)
             .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
             .exclude(deletion_requests__status=DeletionStatus.PENDING))
    filed = 0
    for user in stale:
        created = DeletionRequest.objects.create(user=user, requested_at=now,
                                                 reason="Filed by the retention policy: no sign-in for too long.")
        record_action(None, "privacy.deletion_requested_by_retention", subject=created)
        filed += 1
    return filed


def _purge_sessions(now: Any) -> int:
    engine = import_module(settings.SESSION_ENGINE)
    try:
        session_model = engine.SessionStore.get_model_class()
    except AttributeError:
        return 0
    return session_model.objects.filter(expire_date__lt=now).delete()[0]
