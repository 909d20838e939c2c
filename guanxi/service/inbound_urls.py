"""Where email reaches the service desk from outside: the inbound-mail webhook (no sign-in; the
shared secret ``GUANXI_INBOUND_WEBHOOK_SECRET`` admits the caller)."""

from django.urls import path

from . import inbound_views

urlpatterns = [
    path("email/", inbound_views.inbound_email_webhook, name="inbound_email"),
]
