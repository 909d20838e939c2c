"""Background work of accounts, for the worker (``guanxi db_worker``)."""

from django_tasks import task

from .forms import password_reset_emails_send


@task()
def send_password_reset_emails(email: str, language: str) -> None:
    """Email a link to set a new password to each active account of ``email`` (see
    :func:`guanxi.accounts.forms.password_reset_emails_send`)."""
    password_reset_emails_send(email=email, language=language)
