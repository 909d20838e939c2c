"""Signing in and out, one's own password (changed, or reset by email when forgotten), and
each user's own API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.audit.summaries import Summary
from guanxi.core.client_address import client_address

from .forms import ApiTokenCreateForm, PasswordResetForm
from .reset_limits import password_reset_refusal
from .selectors import api_tokens_for_user, user_has_live_api_tokens
from .services import (
    api_token_create,
    api_token_revoke,
    user_password_change_recorded,
    user_set_language,
)
from .tasks import send_password_reset_emails


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


class PasswordChangeView(auth_views.PasswordChangeView):
    """Anyone signed in changes their own password (the old one, then the new one twice, held
    to the password validators), on record as the admin site's page for it records it, and
    stays signed in on this browser; their other sessions end, as the password they hold is no
    longer the account's."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change")

    def post(self, request, *args, **kwargs):
        with user_password_change_recorded(actor=request.user, user_id=request.user.pk) as current:
            # Django's form saves the whole row of the user asking: the row read again once
            # locked, so that nothing an administrator changed since the request began (a
            # role, a deactivation, a password they set) is put back; None for an account
            # deactivated or deleted meanwhile, which gets no new password.
            if current is not None:
                request.user = current
                return super().post(request, *args, **kwargs)
        logout(request)
        messages.error(
            request, _("Your account is no longer active: its password was not changed.")
        )
        return redirect(settings.LOGIN_URL)

    def form_valid(self, form):
        had_tokens = user_has_live_api_tokens(self.request.user)
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        if had_tokens:
            tell_api_tokens_revoked(self.request)
        return response


def tell_api_tokens_revoked(request) -> None:
    """Say that a new password revoked the user's API tokens
    (``services.user_password_change_record``): a script of theirs stops working, and they are
    to make it a new token."""
    messages.warning(
        request,
        _(
            "Your API tokens were revoked with your old password, as anyone who knew it could "
            "have made one. Make new tokens for the scripts that need them."
        ),
    )


class PasswordResetView(auth_views.PasswordResetView):
    """A forgotten password: a link to set a new one goes by email to each active account of
    the address given. The page answers the same whether or not there is one, so that it
    tells nobody which addresses have an account: the address is queued for the background
    worker, which looks it up and sends, so the page does the same work for any address. An
    address, and a client, asking too often are refused (429) before anything is queued
    (:mod:`guanxi.accounts.reset_limits`)."""

    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        refusal = password_reset_refusal(email=email, client=client_address(self.request) or "")
        if refusal:
            form.add_error("email", refusal)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        send_password_reset_emails.enqueue(email=email, language=translation.get_language())
        return redirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The emailed link: a new password, twice, for an account still active. The link works
    once (its token is made from the password it replaces) and the reset is on record with
    the user as the one who made it."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def get_user(self, uidb64):
        # Django's view would reset the password of an account deactivated since the email.
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def post(self, request, *args, **kwargs):
        summary = Summary(
            gettext_noop("%(user)s: password reset by email"), {"user": self.user.username}
        )
        with user_password_change_recorded(
            actor=self.user, user_id=self.user.pk, summary=summary
        ) as current:
            # Read again once locked: the form saves the whole row, and a reset made with the
            # same link meanwhile (a second tab, a second click) or a deactivation ends the
            # link, which the check before the lock could not see.
            self.user = current
            token = request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN)
            if self.user is None or not self.token_generator.check_token(self.user, token):
                self.validlink = False
                return self.render_to_response(self.get_context_data())
            return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        had_tokens = user_has_live_api_tokens(self.user)
        response = super().form_valid(form)
        if had_tokens:
            tell_api_tokens_revoked(self.request)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


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
