"""`medtutor lti ...`: register platforms, show what to enter in the LMS, sync rosters, send scores."""

from __future__ import annotations

import os
from typing import Annotated

import typer

lti_app = typer.Typer(help="LTI 1.3 / LTI Advantage: medtutor inside a learning management system.",
                      no_args_is_help=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medtutor.settings")
    import django

    django.setup()


@lti_app.command("register")
def register(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")],
    client_id: Annotated[str, typer.Option(help="The client id the platform assigned to medtutor.")],
    login_url: Annotated[str, typer.Option(help="The platform's OIDC authorization (auth login) URL.")],
    token_url: Annotated[str, typer.Option(help="The platform's OAuth 2 token URL (grades, rosters).")],
    jwks_url: Annotated[str, typer.Option(help="The platform's public keys (JWKS) URL.")],
    deployment_id: Annotated[list[str], typer.Option(help="A deployment id; repeat for several.")],
    name: Annotated[str, typer.Option(help="A name for people reading the audit log.")] = "",
) -> None:
    """Register (or update) an LMS as an LTI 1.3 platform; prints the URLs to enter in the LMS."""
    _django()
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    from medtutor.core import clock
    from medtutor.core.audit import record_action
    from medtutor.integrations.lti import keys
    from medtutor.integrations.models import LtiPlatform

    for field, value in (("--login-url", login_url), ("--token-url", token_url), ("--jwks-url", jwks_url)):
        try:
            URLValidator(schemes=["https", "http"])(value)
        except ValidationError:
            typer.echo(f"error: {field} is not a URL: {value[:100]!r}", err=True)
            raise typer.Exit(2) from None
    if not issuer.strip() or not client_id.strip() or not [d for d in deployment_id if d.strip()]:
        typer.echo("error: --issuer, --client-id and at least one --deployment-id must not be empty", err=True)
        raise typer.Exit(2)
    fields = {"name": name or issuer, "deployment_ids": sorted({d.strip() for d in deployment_id if d.strip()}),
              "auth_login_url": login_url, "auth_token_url": token_url, "jwks_url": jwks_url}
    platform, created = LtiPlatform.objects.update_or_create(
        issuer=issuer.strip(), client_id=client_id.strip(), defaults=fields,
        create_defaults=fields | {"created_at": clock.now()})
    record_action(None, "lti.platform." + ("registered" if created else "updated"), subject=platform,
                  data={"issuer": platform.issuer, "client_id": platform.client_id,
                        "deployments": platform.deployment_ids})
    keys.private_key()  # generate our key pair now, not on the first launch
    typer.echo(f"{'registered' if created else 'updated'} platform {platform.pk}: {platform}")
    _print_tool_urls()


def _print_tool_urls() -> None:
    from django.conf import settings

    base = (settings.CSRF_TRUSTED_ORIGINS[0] if getattr(settings, "CSRF_TRUSTED_ORIGINS", None)
            else "https://<your medtutor host>")
    typer.echo("enter in the LMS:")
    typer.echo(f"  OIDC login initiation URL: {base}/lti/login")
    typer.echo(f"  redirect / target link URI: {base}/lti/launch")
    typer.echo(f"  public keyset (JWKS) URL:   {base}/lti/jwks.json")
    typer.echo("  deep linking URL:           the launch URL; custom parameter medtutor_target=exam:<id>|case:<id>|practice")


@lti_app.command("platforms")
def platforms() -> None:
    """List registered platforms and the tool URLs to enter in an LMS."""
    _django()
    from medtutor.integrations.models import LtiPlatform

    for platform in LtiPlatform.objects.order_by("pk"):
        typer.echo(f"{platform.pk}: {platform} deployments={','.join(platform.deployment_ids)}")
    _print_tool_urls()


@lti_app.command("sync-rosters")
def sync_rosters() -> None:
    """Fetch each course's membership (Names and Roles) and update the course cohorts."""
    _django()
    from medtutor.integrations.lti.services import sync_roster
    from medtutor.integrations.models import LtiResourceLink

    failures = 0
    seen: set[tuple[int, str]] = set()
    for link in LtiResourceLink.objects.exclude(memberships_url="").select_related("platform").order_by("pk"):
        if (link.platform_id, link.context_id) in seen:
            continue  # one sync per course, however many links it holds
        seen.add((link.platform_id, link.context_id))
        try:
            report = sync_roster(link)
        except (OSError, ValueError) as error:
            failures += 1
            typer.echo(f"{link.context_title or link.context_id}: failed ({error})", err=True)
            continue
        typer.echo(f"{report.cohort}: {report.members} members, {report.added} added, {report.removed} removed")
    raise typer.Exit(1 if failures else 0)


@lti_app.command("send-scores")
def send_scores() -> None:
    """Send exam scores waiting for LMS gradebooks now (the jobs runner also does this every minute)."""
    _django()
    from medtutor.integrations.lti.services import send_pending_scores

    report = send_pending_scores()
    typer.echo(f"sent {report.sent}, failed {report.failed}, pending {report.pending}"
               + (f" (last error: {report.error})" if report.error else ""))
    raise typer.Exit(1 if report.failed else 0)
