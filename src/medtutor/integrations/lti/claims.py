"""Claim names and role vocabularies from the LTI 1.3 specifications (no Django here)."""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
RESOURCE_LINK = LTI + "resource_link"
CONTEXT = LTI + "context"
ROLES = LTI + "roles"
CUSTOM = LTI + "custom"
TARGET_LINK_URI = LTI + "target_link_uri"

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DL_SETTINGS = DL + "deep_linking_settings"
DL_CONTENT_ITEMS = DL + "content_items"
DL_DATA = DL + "data"
DL_MSG = DL + "msg"

AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS_SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"

# The custom parameter that says what a resource link opens: "exam:12", "case:3" or "practice".
TARGET_PARAM = "medtutor_target"


def role_from_lti(roles: list[str] | str | None) -> str:
    """LIS roles (full URIs, or the short names NRPS may use) to one medtutor role, highest first.

    Administrator (system, institution or course) -> admin; Instructor or ContentDeveloper -> faculty;
    anything else (Learner, Mentor, TeachingAssistant sub-role, none) -> student.
    """
    if isinstance(roles, str):
        roles = [roles]
    names = {str(r).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for r in roles or []}
    if "Administrator" in names:
        return "admin"
    if names & {"Instructor", "ContentDeveloper"}:
        return "faculty"
    return "student"
