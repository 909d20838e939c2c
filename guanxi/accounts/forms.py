from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils import translation
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from .models import User


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Purpose"),
        max_length=100,
        help_text=_("For example “nightly export script”. You can revoke it at any time."),
    )


# Django's words for a password too short, which its Chinese catalogue of this release lacks
# (it has them as they were before, with a named parameter): named here so that ``make
# messages`` keeps them in Guanxi's catalogue, where Django finds them. Never read.
DJANGO_STRINGS = (
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form for a forgotten password, writing each email in the language its user
    chose in the top bar (the page's language for someone who chose none). The link starts
    with ``GUANXI_BASE_URL``, as every link Guanxi emails does, not with the host the request
    named: a request sent with another Host header would otherwise mail someone a link to
    that host, carrying their reset token. The page only checks the address and queues it
    (:func:`password_reset_emails_send` looks it up and sends, in the background)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        context = {**context, "base_url": settings.GUANXI_BASE_URL.rstrip("/")}
        with translation.override(context["user"].language or translation.get_language()):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


def password_reset_emails_send(*, email: str, language: str) -> None:
    """Email a link to set a new password to each active account of ``email`` (none when no
    active account has it), each in its user's language, else in ``language``, the page's
    where it was asked for. Run by the background worker, not by the page: the page then takes
    as long for an address with an account as for one without, which would otherwise tell
    which addresses have one, and waits for no mail server. A mail server that refuses is
    logged (Django's form does it) and costs that email only."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            # Django names the request's site in the email; Guanxi's link names
            # GUANXI_BASE_URL (send_mail), and there is no request here.
            domain_override=settings.GUANXI_BASE_URL,
            subject_template_name="accounts/password_reset_subject.txt",
            email_template_name="accounts/password_reset_email.txt",
        )


class ActiveUserFieldsForm(forms.ModelForm):
    """An admin form whose ``active_user_fields`` name people who must still be active: a
    department's manager, a team's lead, a policy's general manager. Escalations leave
    inactive people out, so naming one would send them to nobody.

    The person is read locked, in the admin's transaction: deactivating them locks them too
    and then looks for the roles they hold, so of the two one waits and sees the other's
    change, and neither an inactive lead nor a deactivated one slips through. Locked before
    the row the page changes (``VersionCheckForm`` locks it), as everything locks users
    first: a team's deletion locks its members and then the team, and with the team locked
    first, a team's page waited for its lead while the deletion, holding the lead, waited for
    the team."""

    active_user_fields: tuple[str, ...] = ()

    def clean(self):
        # The fields are cleaned before ``clean``: the people named are known here.
        named = {
            name: user
            for name in self.active_user_fields
            if (user := self.cleaned_data.get(name)) is not None
        }
        active = dict(
            User.objects.select_for_update()
            .filter(pk__in=[user.pk for user in named.values()])
            .order_by("pk")
            .values_list("pk", "is_active")
        )
        cleaned = super().clean()
        for name, user in named.items():
            if not active.get(user.pk):
                self.add_error(
                    name,
                    gettext("%(user)s is no longer active; choose someone who is.")
                    % {"user": user.label_with_username},
                )
        return cleaned
