"""What integrations keep: images of imported Anki cards."""

from django.db import models


class CardImage(models.Model):
    """An image an imported card shows; the file lives under MEDIA_ROOT/anki/, named by its SHA-256."""

    card = models.ForeignKey("content.Card", on_delete=models.CASCADE, related_name="images")
    path = models.CharField(max_length=200)          # relative to MEDIA_ROOT
    name = models.CharField(max_length=200)          # the file name in the deck
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["card", "position"]
        constraints = [models.UniqueConstraint(fields=["card", "path"], name="card_image_once")]

    def __str__(self) -> str:
        return f"{self.card_id}: {self.name}"


class XapiStatement(models.Model):
    """An xAPI statement waiting for (or delivered to) the Learning Record Store: the outbox."""

    statement_id = models.UUIDField(unique=True)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)   # a sender is posting it
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.statement_id} ({'sent' if self.sent_at else 'pending'})"


class LtiPlatform(models.Model):
    """An LMS registered as an LTI 1.3 platform: who it is, where to send the browser and fetch its keys."""

    name = models.CharField(max_length=150)
    issuer = models.CharField(max_length=300)
    client_id = models.CharField(max_length=255)          # the id the platform gave medtutor
    deployment_ids = models.JSONField(default=list)       # launches from other deployments are refused
    auth_login_url = models.URLField(max_length=500)      # the platform's OIDC authorization endpoint
    auth_token_url = models.URLField(max_length=500)      # OAuth 2 client-credentials endpoint (AGS, NRPS)
    jwks_url = models.URLField(max_length=500)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_once")]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer}, client {self.client_id})"


class LtiNonce(models.Model):
    """A launch nonce already used: a second launch with it is a replay."""

    platform = models.ForeignKey(LtiPlatform, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "nonce"], name="lti_nonce_once")]


class LtiResourceLink(models.Model):
    """A placement of medtutor in a course: what it opens and the course's AGS/NRPS service URLs."""

    platform = models.ForeignKey(LtiPlatform, on_delete=models.CASCADE, related_name="resource_links")
    deployment_id = models.CharField(max_length=255)
    resource_link_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    context_id = models.CharField(max_length=255, blank=True)
    context_title = models.CharField(max_length=255, blank=True)
    target = models.CharField(max_length=60, blank=True)          # "exam:12", "case:3", "practice"
    lineitem_url = models.URLField(max_length=500, blank=True)   # AGS: where this link's scores go
    ags_scopes = models.JSONField(default=list)
    memberships_url = models.URLField(max_length=500, blank=True)  # NRPS
    cohort = models.ForeignKey("accounts.Cohort", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "deployment_id", "resource_link_id"],
                                               name="lti_resource_link_once")]

    def __str__(self) -> str:
        return f"{self.title or self.resource_link_id} -> {self.target or 'home'}"


class LtiLaunch(models.Model):
    """A user opened a resource link: the exam attempt that follows reports its score to that link."""

    resource_link = models.ForeignKey(LtiResourceLink, on_delete=models.CASCADE, related_name="launches")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    lti_user_id = models.CharField(max_length=255)        # the platform's `sub` for this user
    launched_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "launched_at"])]


class LtiScore(models.Model):
    """A score waiting for (or delivered to) the platform's line item: the AGS outbox."""

    resource_link = models.ForeignKey(LtiResourceLink, on_delete=models.CASCADE, related_name="scores")
    # what was scored: a submitted exam attempt or a debriefed virtual-patient session
    attempt = models.ForeignKey("assessment.Attempt", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    vp_session = models.ForeignKey("simulation.Session", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource_link", "attempt"], name="lti_score_once"),
            models.UniqueConstraint(fields=["resource_link", "vp_session"], name="lti_case_score_once"),
            models.CheckConstraint(condition=models.Q(attempt__isnull=True) ^ models.Q(vp_session__isnull=True),
                                   name="lti_score_scores_one_thing"),
        ]
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]
