"""``guanxi purge-idempotency-keys``: drop stored POST answers older than the 24-hour replay
window. Each user's expired keys are also dropped whenever they make a new keyed request; this
command catches the users who stopped."""

from django.core.management.base import BaseCommand

from guanxi.api.idempotency import purge_expired_keys


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than 24 hours."

    def handle(self, *args, **options):
        deleted = purge_expired_keys()
        self.stdout.write(f"{deleted} expired idempotency keys deleted.")
