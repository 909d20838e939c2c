"""System checks of the service desk: inbound mail whose senders nobody verifies, and a mail
server timeout too long for the claim on an email being sent.

The first is tagged ``security`` and deploy-only: ``guanxi check --deploy`` shows it, as it
shows Django's own warnings about a site open to forgery, and no other command is held up by it.
The second is an error every command checks, the worker and ``migrate`` among them.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.translation import gettext as _

from .models import CLAIM_HOLDS_TIMEOUTS, RETRY_FOR


@register(Tags.security, deploy=True)
def inbound_senders_not_verified(app_configs=None, **kwargs):
    """A warning when inbound mail is taken in (the webhook has its secret) but no receiving mail
    server is trusted to vouch for the senders: then anyone can write into a customer's tickets,
    or as a desk user, by putting their address in From."""
    if app_configs is not None and not any(c.label == "service" for c in app_configs):
        return []
    if not getattr(settings, "GUANXI_INBOUND_WEBHOOK_SECRET", ""):
        return []
    if getattr(settings, "GUANXI_INBOUND_AUTHSERV_ID", None):
        return []
    return [
        Warning(
            _(
                "Inbound email is taken in, but its senders are not verified: anyone can write "
                "into a customer's tickets, or reply as a desk user, by putting their address in "
                "From."
            ),
            hint=_(
                "Set GUANXI_INBOUND_AUTHSERV_ID to the authserv-id your receiving mail server "
                "writes in its Authentication-Results headers."
            ),
            id="service.W001",
        )
    ]


# The longest mail server timeout whose sendings a claim still outlasts (24 minutes).
LONGEST_EMAIL_TIMEOUT = int(RETRY_FOR.total_seconds()) // CLAIM_HOLDS_TIMEOUTS


@register()
def email_timeout_outlasts_the_claim(app_configs=None, **kwargs):
    """An error when ``GUANXI_EMAIL_TIMEOUT`` (Django's ``EMAIL_TIMEOUT``) is longer than
    :data:`LONGEST_EMAIL_TIMEOUT`. A claim to send an email holds for
    ``CLAIM_HOLDS_TIMEOUTS`` times the timeout, the longest a sending can last, but never
    longer than the sweep tries an email (:data:`RETRY_FOR`: a claim that old was left by a
    process that ended, and an absurd timeout would otherwise hold it for centuries). Past this
    timeout a slow sending outlasts its claim: the sweep takes the email over and sends it
    again, or gives it up, while the first sending may still deliver it. Refused rather than the
    cap raised: a mail server that takes more than 24 minutes to answer one step is down, and an
    email claimed for days by a sender that died would be neither sent nor given up."""
    if app_configs is not None and not any(c.label == "service" for c in app_configs):
        return []
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 0
    if timeout <= LONGEST_EMAIL_TIMEOUT:
        return []
    return [
        Error(
            _(
                "GUANXI_EMAIL_TIMEOUT is %(timeout)s seconds: a sending that slow could outlast "
                "its claim, and the sweep would send the email again while it is still going."
            )
            % {"timeout": timeout},
            hint=_("Set GUANXI_EMAIL_TIMEOUT to at most %(longest)s seconds.")
            % {"longest": LONGEST_EMAIL_TIMEOUT},
            id="service.E001",
        )
    ]
