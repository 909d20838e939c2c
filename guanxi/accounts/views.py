"""Signing in and out, and each user's own API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ApiTokenCreateForm
from .selectors import api_tokens_for_user
from .services import api_token_create, api_token_revoke, user_set_language


def set_language(request):
    """The top bar's language switch: Django's own (the cookie, back to the page), and for
    someone signed in the choice is kept on them too, for their next sign-in elsewhere and for
    what Guanxi writes to them outside a request."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
    ):
        user_set_language(actor=request.user, language=language)
    return response


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign-out is a POST (Django 5 refuses GET) from the user menu."""


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """List the user's tokens and make a new one; the secret is shown exactly once."""
    new_secret = None
    form = ApiTokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, new_secret = api_token_create(
            actor=request.user, user=request.user, name=form.cleaned_data["name"]
        )
        messages.success(request, _("Token “%(name)s” created.") % {"name": token.name})
        form = ApiTokenCreateForm()
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": api_tokens_for_user(request.user), "new_secret": new_secret},
    )


@login_required
@require_POST
def api_token_revoke_view(request, token_id: int):
    from .models import ApiToken

    try:
        token = api_token_revoke(actor=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404 from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens")
