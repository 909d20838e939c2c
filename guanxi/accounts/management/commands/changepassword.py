"""``guanxi changepassword [USERNAME]``: Django's command, asking the same questions, with the
password set through ``user_password_set``: on record (that it changed, never the password),
and written on its own; it says so when the new password revoked the user's API tokens.
Django's saves the whole user it read before asking, so a role changed or a deactivation made
on the admin site while someone typed was put back.

It takes the place of Django's because ``guanxi.accounts`` comes before ``django.contrib.auth``
in ``INSTALLED_APPS``: of two commands of one name, Django runs the earlier app's.
"""

import getpass

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from guanxi.accounts.models import User
from guanxi.accounts.services import user_password_set

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a user's password; the change is recorded in the audit log."

    def add_arguments(self, parser):
        # Django's ``--database`` is left out: the password is set through the services, on the
        # one database the site runs on, and an option naming another would be ignored.
        parser.add_argument(
            "username",
            nargs="?",
            help="Username to change password for; by default, it's the current username.",
        )

    def handle(self, *args, **options):
        username = options["username"] or getpass.getuser()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"user '{username}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        password = self._new_password(user)
        try:
            revoked = user_password_set(actor=None, user_id=user.pk, password=password)
        except User.DoesNotExist:
            # Deleted on the admin site while the password was typed.
            raise CommandError(f"user '{username}' does not exist") from None
        if revoked:
            # A new password revokes the user's tokens: their scripts stop working, and
            # whoever runs this should know before the scripts' owners ask why.
            self.stdout.write(
                f"API tokens of '{user}' were revoked with the old password: {revoked}. "
                "Make their scripts new ones with 'guanxi api-token'."
            )
        return f"Password changed successfully for user '{user}'"

    def _new_password(self, user: User) -> str:
        """The new password, typed twice and checked by the password validators, as Django's
        command asks for it."""
        for _attempt in range(MAX_TRIES):
            first = self._get_pass()
            second = self._get_pass("Password (again): ")
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(second, user)
            except ValidationError as err:
                self.stderr.write("\n".join(err.messages))
                continue
            return first
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
