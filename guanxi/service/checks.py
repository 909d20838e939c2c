"""System checks of the service desk: inbound mail whose senders nobody verifies.

Tagged ``security`` and deploy-only: ``guanxi check --deploy`` shows it, as it shows Django's own
warnings about a site open to forgery, and no other command is held up by it.
"""

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.translation import gettext as _


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
