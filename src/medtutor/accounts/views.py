from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from medtutor.accounts.forms import ApiTokenForm, LoginForm
from medtutor.accounts.models import ApiToken
from medtutor.core import audit
from medtutor.core.permissions import EVERYONE, roles_required


class LoginView(auth_views.LoginView):
    # Django's login() rotates the session key, so a session id planted before login is useless after.
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    return redirect("login")


@roles_required(*EVERYONE)
def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, new_token = ApiToken.issue(request.user, form.cleaned_data["name"])
        audit.record_action(request.user, "api_token.issued", subject=token, data={"name": token.name})
        messages.success(request, "Token created. Copy it now: it will not be shown again.")
    return render(request, "accounts/tokens.html", {
        "form": ApiTokenForm() if new_token else form,
        "tokens": request.user.api_tokens.all(),
        "new_token": new_token,
    })


@require_POST
@roles_required(*EVERYONE)
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)  # only one's own tokens
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record_action(request.user, "api_token.revoked", subject=token)
        messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("tokens")
