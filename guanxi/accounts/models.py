import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.languages import site_languages

from .roles import Role


class Department(models.Model):
    """A part of the company (Sales East, Customer Service...). Managers see their department's
    customers, and every customer when an active service agent is among its members."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        "User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_departments",
        verbose_name=_("manager"),
        help_text=_("Hears about service-level breaches escalated past the team lead."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group of people inside a department. ``customer_sharing`` decides whether members see
    (or also edit) the customers their teammates own."""

    class Sharing(models.TextChoices):
        NONE = "none", _("Members see only their own customers")
        VIEW = "view", _("Members see teammates' customers")
        EDIT = "edit", _("Members see and edit teammates' customers")

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="teams", verbose_name=_("department")
    )
    customer_sharing = models.CharField(
        _("customer sharing"), max_length=10, choices=Sharing.choices, default=Sharing.VIEW
    )
    lead = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
        verbose_name=_("team lead"),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["department__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="team_unique_name")
        ]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return f"{self.department.name} / {self.name}"

    def clean(self):
        # A team's members belong to its department: the rule of who sees which customers
        # reads a rep's team and a manager's department, and a team moved away from its
        # members' department would show their customers to one department's manager and
        # let them be changed by the other's.
        super().clean()
        if self.department_id is None:
            return
        if self.pk is not None:
            _lock_team(self.pk)
        if not _department_still_there(self.department_id):
            raise ValidationError(
                {"department": _("This department has just been deleted: choose another one.")}
            )
        if self.pk is None:
            return
        elsewhere = (
            User.objects.filter(team_id=self.pk)
            .exclude(department_id=self.department_id)
            .order_by("username")
        )
        names = [user.label_with_username for user in elsewhere[:5]]
        if names:
            raise ValidationError(
                {
                    "department": _(
                        "Its members are in another department (%(members)s): move them "
                        "first, or make a new team in this department."
                    )
                    % {"members": ", ".join(names)}
                }
            )


def _lock_team(team_id: int) -> None:
    """Lock a team's row until the transaction ends, before a team's department or a person's
    team is checked against the other: an administrator moving the team and another putting
    someone in it at the same moment would otherwise each check what the other is changing,
    and both save. The admin pages validate and save in one transaction; a check made outside
    one (a script calling ``full_clean``) has nothing to hold the lock for.

    The team's row alone: teams are listed by their department's name, and that join would lock
    the department too, before the page locks the departments it needs in id order
    (``_department_still_there``)."""
    if connection.in_atomic_block:
        list(Team.objects.select_for_update(of=("self",)).filter(pk=team_id).values_list("pk"))


def _department_still_there(department_id: int | None, *, also: int | None = None) -> bool:
    """Whether the department is still there, its row locked until the transaction ends, before
    someone or a team is saved into it.

    Its deletion locks it too, and then looks for its people and teams: of the two, one waits
    for the other. A page saving first is found by the deletion, which is refused (people and
    teams protect their department); a deletion first is found here, and the page says so on
    the department rather than saving a key that fails as it commits (a server error). Neither
    is done half-way: deleting the department all the same would leave whoever was just put in
    it without one, changing, unrecorded, which customers they and its managers see. Locked
    after the person and the team, as everything locks them first (a deactivation the leaver
    and then their department, a team's deletion its members and then the team).

    ``also``, a department the page locks too (the one someone leaves), is locked with it in id
    order, even when ``department_id`` is None: two agents swapped between two departments at
    once, each page locking the department it moves into and then the one it leaves, held what
    the other waited for."""
    departments = Department.objects.filter(pk__in={department_id, also} - {None})
    if connection.in_atomic_block:
        departments = departments.select_for_update().order_by("pk")
    return department_id in set(departments.values_list("pk", flat=True))


class GuanxiUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """An administrator who may do everything, with the audit row of the account
        (``services.user_change_record``) written in the transaction that adds it.

        Django's ``createsuperuser`` command asks for the password before it calls this, and
        here is the one place it adds the account: a transaction around the whole command
        would hold SQLite's write lock (taken when a transaction begins) while someone types,
        stopping every other write. A script calling this is on record the same way."""
        from .services import user_change_record  # the services import this module

        extra_fields.setdefault("role", Role.ADMIN)
        with transaction.atomic(using=self.db):
            user = super().create_superuser(username, email, password, **extra_fields)
            user_change_record(actor=None, user=user, before=None)
        return user


class User(AbstractUser):
    """A member of staff. The role decides what they may do; department and team decide which
    customers they reach (see ``guanxi.customers.visibility``). ``version`` goes up with every
    change of what their admin page shows (the page itself, deactivating them, the language
    they choose), so a save from a page read before that change is refused instead of putting
    the old values back."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES_REP)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("department"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("team"),
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # What they chose in the top bar; mail and notices written for them outside a request (the
    # SLA sweep, the mailbox fetch) use it too.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=site_languages,
        blank=True,
        help_text=_("Blank: the site's default language."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = GuanxiUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_sensitive_data", _("Can reveal ID numbers and phone numbers in full")),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        # See Team.clean: who sees which customers reads both, so they must agree.
        super().clean()
        team = None
        if self.team_id is not None:
            _lock_team(self.team_id)
            team = Team.objects.select_related("department").filter(pk=self.team_id).first()
            if team is None:
                # Deleted while this waited for its lock (the form had found it): saved all the
                # same, the person would name a team that is gone, and the commit fail on the key.
                raise ValidationError(
                    {"team": _("This team has just been deleted: choose another team, or none.")}
                )
        # Locked even when they are put in no department: the one they leave is locked all the
        # same (``_department_stored``).
        there = _department_still_there(self.department_id, also=self._department_stored())
        if self.department_id is not None and not there:
            raise ValidationError(
                {
                    "department": _(
                        "This department has just been deleted: choose another one, or none."
                    )
                }
            )
        if team is not None and team.department_id != self.department_id:
            raise ValidationError(
                {
                    "team": _(
                        "This team belongs to the %(department)s department: choose that "
                        "department, or another team."
                    )
                    % {"department": team.department.name}
                }
            )

    def _department_stored(self) -> int | None:
        """The department this user is in as stored: their page locks it (``clean``, with the
        one they are put in, in id order; ``services.user_edit_lock`` again) before they leave
        it or stop being its service agent.

        Its managers see their members' customers, and every customer while an active agent is
        in it: each page taking one of those away asks afterwards whether the managers still
        see the customers of the tickets they hold. Its last agent and a colleague whose
        customer a manager holds a ticket on moved out at once, each page found the other's way
        of seeing it still there, and neither let go of the ticket. With the department locked,
        the second waits for the first and finds both gone."""
        if self.pk is None:
            return None
        return User.objects.filter(pk=self.pk).values_list("department_id", flat=True).first()

    @property
    def label(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def label_with_username(self) -> str:
        """The label with the username beside it, for lists where two people share a name."""
        return f"{self.label} ({self.username})"

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    def may_view_sensitive(self) -> bool:
        if not self.is_active:
            return False
        if self.is_admin_role:
            return True
        self._read_permissions()
        return self.has_perm("accounts.view_sensitive_data")

    def _read_permissions(self) -> None:
        """Reads the permissions this user holds, their own and their groups', in one query,
        into the cache Django's ``ModelBackend`` keeps on the user for the rest of the request.
        Left to itself the backend asks twice (the user's, then the groups'), and every search
        and customer list asks: a round trip of each of them. The set is the one the backend
        would build; should a later Django keep it under another name, it simply reads its own
        again, and the answer stays the same."""
        from django.contrib.auth.models import Group, Permission
        from django.db.models import Q

        if hasattr(self, "_perm_cache") or self.pk is None:
            return
        own = User.user_permissions.through.objects.filter(user_id=self.pk)
        through_groups = Group.permissions.through.objects.filter(
            group_id__in=User.groups.through.objects.filter(user_id=self.pk).values("group_id")
        )
        held = Permission.objects.filter(
            Q(pk__in=own.values("permission_id")) | Q(pk__in=through_groups.values("permission_id"))
        )
        self._perm_cache = {
            f"{app_label}.{codename}"
            for app_label, codename in held.values_list(
                "content_type__app_label", "codename"
            ).order_by()
        }


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash is stored; the token itself is shown once."""

    PREFIX = "gx_"

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("hint"), max_length=12, help_text=_("First characters of the token"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def generate_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_raw(raw: str) -> str:
        return _hash_token(raw)

    @classmethod
    def may_be_one(cls, raw: str) -> bool:
        """Whether ``raw`` has a token's shape, worth looking up: anything else (another
        scheme's secret, a page of text) is refused without hashing it or asking the database."""
        return bool(raw) and raw.startswith(cls.PREFIX) and len(raw) <= 100

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PasswordResetCount(models.Model):
    """How many links to set a password were asked for under one key (a client's address or an
    email address, hashed) since ``window_started_at``. Kept in the database, which every server
    process shares, so that the limits of ``reset_limits`` hold however many processes answer
    and whether or not one restarted."""

    key = models.CharField(max_length=64, unique=True)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        # Every ask first deletes the counts whose window is over, by when it started.
        indexes = [models.Index(fields=["window_started_at"], name="password_reset_window")]

    def __str__(self) -> str:
        return f"{self.key[:8]}…: {self.count}"
