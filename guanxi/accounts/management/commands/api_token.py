"""``guanxi api-token USERNAME [--name NAME]``: make a personal API token for a script.

The token is the only thing written to standard output, on one line, so a script can capture
it (``TOKEN=$(guanxi api-token alice)``); it is shown this once and stored only as a hash.
"""

from django.core.management.base import BaseCommand, CommandError

from guanxi.accounts.models import User
from guanxi.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for (shown in lists).")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username!r} is deactivated; a token would not work.")
        # Whoever can run management commands is the operator of the installation; the token
        # is made as if by the user themselves.
        token, raw = api_token_create(actor=user, user=user, name=name or "Command line")
        self.stderr.write(f"Token {token.hint}… created for {username}; keep it secret.")
        self.stdout.write(raw)
