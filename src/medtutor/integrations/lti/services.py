"""LTI Advantage services: OAuth 2 client-credentials tokens (Security Framework §4.1), Assignment and
Grade Services scores through a durable outbox (AGS 2.0 §3.4), Names and Role Provisioning into a
cohort (NRPS 2.0), and the signed deep-linking response (Deep Linking 2.0 §4.2)."""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction

from medtutor.accounts.models import ExternalIdentity, Role
from medtutor.core import clock
from medtutor.core.audit import record_action
from medtutor.core.prepared import PreparedSelect
from medtutor.integrations.lti import claims as c
from medtutor.integrations.lti import keys
from medtutor.integrations.lti.http import get_json_with_headers, post
from medtutor.integrations.lti.launch import ensure_user
from medtutor.integrations.models import LtiLaunch, LtiPlatform, LtiResourceLink, LtiScore
from medtutor.integrations.outbox import SendReport, claim_due, next_attempt

logger = logging.getLogger(__name__)
BATCH = 50
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


# --- client-credentials tokens ------------------------------------------------------------------

def access_token(platform: LtiPlatform, scopes: list[str]) -> str:
    """A bearer token for `scopes`, obtained with a JWT assertion signed by our key; cached until
    shortly before it expires."""
    scope = " ".join(sorted(scopes))
    cache_key = f"lti:token:{platform.pk}:{scope}"
    token = cache.get(cache_key)
    if token:
        return token
    now = int(time.time())
    assertion = keys.sign({"iss": platform.client_id, "sub": platform.client_id, "aud": platform.auth_token_url,
                           "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())})
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion, "scope": scope}).encode()
    answer = post(platform.auth_token_url, form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                           "Accept": "application/json"})
    token = answer.get("access_token")
    if not token:
        raise OSError("the platform's token endpoint gave no access_token")
    cache.set(cache_key, token, max(int(answer.get("expires_in") or 3600) - 60, 30))
    return token


# --- Assignment and Grade Services: the score outbox ---------------------------------------------

def _scores_url(lineitem_url: str) -> str:
    parts = urllib.parse.urlsplit(lineitem_url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


# Any launch by the user at all: most people never come through LTI, and every submission asks (a deadline
# storm asks hundreds of times a second), so the common answer costs one prepared lookup.
_ANY_LAUNCH = PreparedSelect(LtiLaunch, by=("user",))


def _graded_launch(user_id: int, target: str) -> LtiLaunch | None:
    """The most recent LTI launch of `target` by this user that came with a line item we may score."""
    if _ANY_LAUNCH.first(user_id) is None:
        return None
    launch = (LtiLaunch.objects.select_related("resource_link")
              .filter(user_id=user_id, resource_link__target=target)
              .exclude(resource_link__lineitem_url="").order_by("-launched_at", "-pk").first())
    if launch is None or c.AGS_SCORE_SCOPE not in launch.resource_link.ags_scopes:
        return None
    return launch


def _score_payload(launch: LtiLaunch, given: float, maximum: float, at: datetime) -> dict:
    return {"userId": launch.lti_user_id, "scoreGiven": given, "scoreMaximum": maximum,
            "activityProgress": "Completed", "gradingProgress": "FullyGraded",
            "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def enqueue_exam_score(attempt) -> LtiScore | None:
    """Inside the submission's transaction: the score is as durable as the submitted attempt."""
    launch = _graded_launch(attempt.student_id, f"exam:{attempt.exam_id}")
    if launch is None:
        return None
    payload = _score_payload(launch, attempt.score_correct or 0, attempt.score_total or 0, attempt.submitted_at)
    score, _ = LtiScore.objects.get_or_create(resource_link=launch.resource_link, attempt=attempt, defaults={
        "payload": payload, "created_at": clock.now(), "next_attempt_at": clock.now()})
    return score


def enqueue_case_score(session) -> LtiScore | None:
    """A debriefed virtual-patient session: its overall debrief score, out of 100."""
    launch = _graded_launch(session.student_id, f"case:{session.case_id}")
    if launch is None or session.score is None:
        return None
    payload = _score_payload(launch, round(float(session.score), 2), 100, session.ended_at or clock.now())
    score, _ = LtiScore.objects.get_or_create(resource_link=launch.resource_link, vp_session=session, defaults={
        "payload": payload, "created_at": clock.now(), "next_attempt_at": clock.now()})
    return score


def scores_pending() -> bool:
    return LtiScore.objects.filter(sent_at__isnull=True).exists()


def _post_score(score: LtiScore) -> None:
    link = score.resource_link
    token = access_token(link.platform, [c.AGS_SCORE_SCOPE])
    post(_scores_url(link.lineitem_url), json.dumps(score.payload).encode(),
         headers={"Content-Type": SCORE_TYPE, "Authorization": f"Bearer {token}"})


def send_pending_scores(now: datetime | None = None) -> SendReport:
    """Post due scores; a failure backs that score off (30 s, doubling, at most an hour). Never raises
    for platform trouble. Re-posting a score is harmless: the platform keeps the latest per user."""
    now = now or clock.now()
    sent = failed = 0
    error = ""
    for score in claim_due(LtiScore, now, BATCH):
        score = LtiScore.objects.select_related("resource_link__platform").get(pk=score.pk)
        try:
            _post_score(score)
        except OSError as exc:
            error = str(getattr(exc, "reason", exc))[:300]
            score.attempts += 1
            score.last_error = error
            score.claimed_until = None
            score.next_attempt_at = next_attempt(now, score.attempts)
            score.save(update_fields=["attempts", "last_error", "claimed_until", "next_attempt_at"])
            failed += 1
            logger.warning("LTI score %s not delivered (%s); next try with backoff", score.pk, error)
            continue
        LtiScore.objects.filter(pk=score.pk).update(sent_at=clock.now(), claimed_until=None, last_error="")
        sent += 1
    pending = LtiScore.objects.filter(sent_at__isnull=True).count()
    return SendReport(sent, failed, pending, error)


# --- Names and Role Provisioning -----------------------------------------------------------------

@dataclass(frozen=True)
class RosterReport:
    cohort: str
    members: int
    added: int
    removed: int


def _next_link(headers: dict) -> str | None:
    link = next((v for k, v in headers.items() if k.lower() == "link"), "")
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None


def sync_roster(link: LtiResourceLink) -> RosterReport:
    """Fetch the course membership and make the course's cohort match it: active members in
    (accounts created and linked by issuer + user id), inactive or departed ones out."""
    from medtutor.integrations.lti.launch import context_cohort

    if not link.memberships_url:
        raise ValueError(f"resource link {link.pk} came with no Names and Roles service URL")
    platform = link.platform
    token = access_token(platform, [c.NRPS_SCOPE])
    url: str | None = link.memberships_url
    members: list[dict] = []
    context: dict = {}
    for _ in range(100):  # pages; a bound so a looping Link header cannot hold us forever
        if url is None:
            break
        body, headers = get_json_with_headers(url, headers={"Accept": MEMBERSHIP_TYPE,
                                                            "Authorization": f"Bearer {token}"})
        context = context or body.get("context") or {}
        members.extend(body.get("members") or [])
        url = _next_link(headers)
    with transaction.atomic():
        cohort = link.cohort or context_cohort(platform, context or {"id": link.context_id,
                                                                     "title": link.context_title})
        if cohort is None:
            raise ValueError("the course has no context id to name a cohort after")
        if link.cohort_id != cohort.pk:
            link.cohort = cohort
            link.save(update_fields=["cohort"])
        before = set(cohort.members.values_list("pk", flat=True))
        active_students, seen = set(), set()
        for member in members:
            if not member.get("user_id"):
                continue
            user = ensure_user(platform.issuer, str(member["user_id"]), member.get("roles") or [], member)
            seen.add(user.pk)
            if member.get("status", "Active") == "Active" and user.role == Role.STUDENT:
                active_students.add(user.pk)
        # Accounts of this platform in the cohort that the membership no longer lists have left the course.
        departed = set(ExternalIdentity.objects.filter(issuer=platform.issuer, user_id__in=before)
                       .values_list("user_id", flat=True)) - seen
        added = active_students - before
        removed = ((before & seen) | departed) - active_students
        cohort.members.add(*added)
        cohort.members.remove(*removed)
        record_action(None, "lti.roster.synced", subject=cohort, data={
            "resource_link": link.pk, "members": len(members), "added": len(added), "removed": len(removed)})
    return RosterReport(cohort.name, len(members), len(added), len(removed))


# --- Deep linking --------------------------------------------------------------------------------

def deep_link_response(request_data: dict, items: list[dict], launch_url: str) -> str:
    """The LtiDeepLinkingResponse JWT for the chosen items, signed with our key."""
    platform = LtiPlatform.objects.get(pk=request_data["platform"])
    now = int(time.time())
    content_items = []
    for item in items:
        entry = {"type": "ltiResourceLink", "title": item["title"], "url": launch_url,
                 "custom": {c.TARGET_PARAM: item["target"]}}
        if item["target"].startswith(("exam:", "case:")):  # both send scores back (cases out of 100)
            entry["lineItem"] = {"scoreMaximum": item.get("score_maximum") or 100, "label": item["title"],
                                 "resourceId": item["target"]}
        content_items.append(entry)
    claims_out = {"iss": platform.client_id, "aud": platform.issuer, "iat": now, "exp": now + 300,
                  "nonce": secrets.token_urlsafe(16), c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE,
                  c.VERSION: "1.3.0", c.DEPLOYMENT_ID: request_data["deployment_id"],
                  c.DL_CONTENT_ITEMS: content_items}
    if request_data.get("data") is not None:
        claims_out[c.DL_DATA] = request_data["data"]
    return keys.sign(claims_out)
