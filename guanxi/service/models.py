"""The service desk: tickets and the promises made about them.

A :class:`Ticket` is one request of one customer — a complaint, an inquiry, a suggestion or
praise — with its conversation (:class:`TicketMessage`: replies the customer sees and internal
notes), its attachments and every status it went through (:class:`TicketStatusChange`). The
status history is the record the service-level clocks are computed from, so deadlines can
always be worked out again when a policy or a calendar changes.

An :class:`SlaPolicy` says, for the tickets its rules match, how soon the first response, each
next response and the resolution are due, on which :class:`ServiceCalendar`, when to warn and
whom to tell (its escalation steps). The sweep records each warning or breach once in
:class:`SlaNotification`, which is what makes it safe to run every minute from several workers.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language_info, pgettext_lazy
from django.utils.translation import gettext_lazy as _

# ``site_languages`` is the choices of ``Ticket.language``, and migration 0016 names it here.
from guanxi.core.languages import language_matching, primary_language, site_languages

from .calendar import CalendarError, parse_calendar

# The most orders a ticket is linked to: a complaint about every delivery of a standing order
# for years. The API states it as the ``maxItems`` of a ticket's ``order_ids``
# (guanxi.api.schemas), and a merge of tickets is held to it too, so that whatever the API
# answers for a ticket it takes back.
MAX_TICKET_ORDERS = 1_000


def email_languages() -> list[tuple[str, str]]:
    """The languages a customer may be emailed in: those the site is written in
    (``settings.LANGUAGES``, read on every call), so that a language added there is offered on
    the forms and taken by the service and the API with no change here.

    Each is named in itself, as a language menu names them: whoever chooses for the customer
    reads the name of the language the customer reads."""
    codes = [code.lower() for code, _label in settings.LANGUAGES]
    return [(code, _name_in_itself(code, label, codes)) for code, label in settings.LANGUAGES]


def _name_in_itself(code: str, label, codes: list[str]) -> str:
    # The one Chinese of a site is 中文, as the site's own language switch names it; beside
    # another script, each says which it is (简体中文, 繁體中文).
    if primary_language(code) == "zh" and [primary_language(c) for c in codes].count("zh") == 1:
        return "中文"
    try:
        return get_language_info(code)["name_local"]
    except KeyError:  # a code Django does not know: the name the settings give it
        return str(label)


def email_language_matching(code: str) -> str | None:
    """The code of :func:`email_languages` that ``code`` (a ticket's, a browser's, the site
    default) names, or None (see :func:`guanxi.core.languages.language_matching`)."""
    return language_matching(code, [known for known, _name in email_languages()])


# Who an escalation step can notify, from the one who holds the ticket upwards.
ESCALATION_ROLES = ("assignee", "owner", "team_lead", "department_manager", "general_manager")


class ServiceCalendar(models.Model):
    """Business hours, holidays and a time zone, in the format ``guanxi sla`` reads (see the
    README, "Service calendars")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    definition = models.JSONField(
        _("definition"),
        help_text=_(
            'For example {"timezone": "Asia/Shanghai", "hours": {"mon": [["09:00", "12:00"], '
            '["13:00", "18:00"]]}, "holidays": [{"date": "2026-10-01"}]}; "hours": "24x7" for '
            "round the clock."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service calendar")
        verbose_name_plural = _("service calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        try:
            parse_calendar(self.definition)
        except CalendarError as error:
            raise ValidationError({"definition": str(error)}) from None

    @property
    def calendar(self):
        return parse_calendar(self.definition)


class TicketCategory(models.Model):
    """A node of the category tree (退款 under 售后服务 …), editable by administrators."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="ticket_category_unique_name")
        ]
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class SlaPolicy(models.Model):
    """Service-level targets for the tickets its rule matches. Policies are tried in
    ``position`` order and the first whose every non-empty condition holds applies."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position in the list"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    # Conditions: each a list of allowed values; an empty list allows everything.
    customer_tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    ticket_types = models.JSONField(_("ticket types"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    calendar = models.ForeignKey(ServiceCalendar, on_delete=models.PROTECT, related_name="policies")
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response within (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), null=True, blank=True
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (percent of the target)"), default=80
    )
    # [{"at_percent": 100, "notify": ["assignee", "team_lead"]}, …]: who hears at which share of
    # a target; the warning (``warn_percent``) always tells the assignee, or the owner.
    escalation = models.JSONField(_("escalation steps"), default=list, blank=True)
    general_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("general manager (top of the escalation chain)"),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("service-level policy")
        verbose_name_plural = _("service-level policies")

    def __str__(self) -> str:
        return self.name


class TicketQuerySet(models.QuerySet):
    def held_open_by(self, user_ids) -> "TicketQuerySet":
        """The open tickets any of ``user_ids`` holds: assigned to them, or theirs as first
        contact (the owner), the two ways a ticket waits on someone. What a user leaving hands
        over, and what a manager losing sight of customers gives back to the queue."""
        ids = list(user_ids)
        return self.filter(status__in=Ticket.OPEN_STATUSES).filter(
            Q(assignee_id__in=ids) | Q(owner_id__in=ids)
        )


class Ticket(models.Model):
    class Type(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        INQUIRY = "inquiry", _("Inquiry")
        SUGGESTION = "suggestion", _("Suggestion")
        PRAISE = "praise", _("Praise")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING_CUSTOMER = "pending_customer", _("Pending customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Channel(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        VISIT = "visit", _("Visit")
        SMS = "sms", _("SMS")
        CHAT = "chat", _("Chat / WeChat")
        OTHER = "other", _("Other")

    class Area(models.TextChoices):
        NONE = "", _("Not a complaint / unknown")
        DESIGN = "design", _("Design and planning")
        QUALITY = "quality", _("Quality")
        SALES_PROMISE = "sales_promise", _("Sales promise")
        SERVICE_PROCESS = "service_process", _("Service process")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER)
    DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)

    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="tickets",
        verbose_name=_("customer"),
    )
    category = models.ForeignKey(
        TicketCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("category"),
    )
    area = models.CharField(
        _("complaint area"), max_length=20, choices=Area.choices, blank=True, default=""
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.OTHER
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="new")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    # First-contact ownership: whoever first took the request stays responsible until it is
    # closed, however often it is reassigned.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_tickets",
        verbose_name=_("responsible (first contact)"),
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("team"),
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets"
    )
    orders = models.ManyToManyField("orders.Order", blank=True, related_name="tickets")
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name=_("merged into"),
    )
    # A request started by its customer writing again on a ticket of theirs in the recycle bin
    # (``intake.customer_wrote_again``): that ticket. Later messages there from the same
    # address come here, rather than each starting a request of its own. Not cleared by that
    # ticket going (nothing may change a ticket without its audit row): deleting it is refused
    # while a request it is not deleted with continues it. Whatever comes to delete tickets
    # (emptying the recycle bin) must clear the link first, with the request's audit row.
    continues = models.ForeignKey(
        "self",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        editable=False,
        related_name="continuations",
        verbose_name=_("continues the ticket"),
    )
    requester_email = models.EmailField(_("requester's email"), blank=True)
    # Opened by an email whose sender's address the site's mail server did not vouch for: filed
    # under a customer of its own (``intake``), which later such requests from the address join.
    sender_unverified = models.BooleanField(
        _("sender address not verified"), default=False, editable=False
    )
    # The language every email to the customer about the ticket is written in. Guessed when
    # the ticket is opened from the request (mostly Chinese, or the request form filled in with
    # Chinese chosen) unless the agent taking it down chose one, and changeable on the ticket:
    # one typed in English for a caller who speaks Chinese must not write to them in English.
    # Blank: the site default.
    language = models.CharField(
        _("language"), max_length=10, choices=site_languages, blank=True, editable=False
    )
    # The service level that applies, and the deadlines it gives at the current status
    # (null: no such target, met, or paused while waiting for the customer).
    sla_policy = models.ForeignKey(
        SlaPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("service-level policy"),
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # The next moment at which a warning or breach may need sending; the sweep reads only
    # tickets whose moment has come.
    sla_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # Whether the first response and the (last) resolution came within their targets; null
    # until they happen, or without a target. Kept for the service reports.
    first_response_met = models.BooleanField(null=True, blank=True, editable=False)
    resolution_met = models.BooleanField(null=True, blank=True, editable=False)
    waiting_since = models.DateTimeField(
        _("customer waiting since"), null=True, blank=True, editable=False
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_count = models.PositiveIntegerField(_("reopened"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    search_text = models.TextField(blank=True, editable=False)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="ticket_status_id"),
            models.Index(fields=["assignee", "status", "-id"], name="ticket_assignee_status"),
            models.Index(fields=["customer", "-id"], name="ticket_customer"),
            models.Index(fields=["category", "-id"], name="ticket_category"),
            models.Index(
                fields=["sla_check_at"],
                name="ticket_sla_check",
                condition=Q(sla_check_at__isnull=False),
            ),
            models.Index(fields=["created_at"], name="ticket_created"),
            # Someone's open tickets, newest first (the agent's queue): ticket_assignee_status
            # cannot give "status IN (the three open ones)" in id order, so every ticket of the
            # assignee was sorted (45 ms for a rep holding 4,000 of a million).
            models.Index(
                fields=["assignee", "-id"],
                name="ticket_open_assignee",
                condition=Q(status__in=["new", "open", "pending_customer"]),
            ),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return f"T-{self.pk:06d}" if self.pk else "T-new"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def email_language(self) -> str:
        """The code, of :func:`email_languages`, of the language the customer is emailed in
        (see :func:`email_language_matching`). Blank is the site default, whose code may name a
        variant (``en-us`` is ``en``); so is a language the site no longer offers, whose
        emails fall back to the default's catalogue, rather than another script of it."""
        for code in (self.language, settings.LANGUAGE_CODE):
            known = email_language_matching(code) if code else None
            if known:
                return known
        return settings.LANGUAGE_CODE

    @property
    def email_language_label(self) -> str:
        return dict(email_languages()).get(self.email_language, self.email_language)


class TicketStatusChange(models.Model):
    """One step of a ticket's status history, the source of its service-level clocks."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="status_changes")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, choices=Ticket.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_status_history")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_status or '-'} -> {self.to_status}"


class TicketMessage(models.Model):
    """A reply to the customer, a message from them, or an internal note."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply to the customer")
        CUSTOMER = "customer", _("From the customer")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    body = models.TextField(_("message"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The Message-ID of an email this came in as, or went out as: replies thread by it, and an
    # email read twice (a mailbox polled again, a webhook retried) is recognised.
    email_message_id = models.CharField(max_length=250, blank=True, default="")
    # Who an email filed as this message came from, and whom else it was sent to (To and Cc,
    # without the desk). A reply is taken as the customer's only from the requester, the
    # customer's addresses, or someone on an email of theirs; anyone else's is kept as a note.
    email_from = models.EmailField(_("sent by"), max_length=254, blank=True, default="")
    email_copied = models.JSONField(_("also sent to"), default=list, blank=True)
    # An email kept as an unknown sender's note because the receiving mail server did not vouch
    # for its From address (GUANXI_INBOUND_AUTHSERV_ID): the address may be the customer's, and
    # the page must not say it is nobody's it knows.
    email_sender_unverified = models.BooleanField(_("sender address not verified"), default=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_message_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"],
                name="ticket_message_unique_email",
                condition=~Q(email_message_id=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE

    @property
    def is_from_unknown_sender(self) -> bool:
        """An email about the ticket from someone not known to write for the requester, kept
        as an internal note (see ``services.email_from_unknown_sender``); not one of the desk's
        own people writing into the thread, whose note is theirs (``email_from_colleague``)."""
        return self.kind == self.Kind.NOTE and bool(self.email_from) and self.author_id is None


def attachment_path(instance, filename: str) -> str:
    return f"ticket-attachments/{instance.ticket_id}/{filename}"


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


class SlaNotification(models.Model):
    """One warning or breach of one target of one ticket, recorded once: the unique constraint
    is what makes a restarted or doubled sweep send nothing twice."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("first response")
        NEXT_RESPONSE = "next_response", _("next response")
        RESOLUTION = "resolution", _("resolution")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_notifications")
    target = models.CharField(max_length=20, choices=Target.choices)
    # Which run of the clock: the next-response clock starts again with every message of the
    # customer, and each run warns on its own.
    clock_started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)  # the deadline when it was sent
    percent = models.PositiveSmallIntegerField()  # the step: 80 = warning, 100 = breach, …
    recipients = models.JSONField(default=list)  # user ids
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target", "clock_started_at", "percent"],
                name="sla_notification_once",
            )
        ]
        indexes = [
            # The ones still to email, which every sweep looks for: without it each sweep read
            # every notification ever recorded (0.3-0.7 s with four million).
            models.Index(
                fields=["id"], name="sla_notification_unsent", condition=Q(emailed_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.target} {self.percent}%"

    @property
    def is_breach(self) -> bool:
        return self.percent >= 100


class Notification(models.Model):
    """An in-app notice for one user (the bell in the header)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_notifications"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notice_inbox"),
            # The notifications page: the user's notices newest first, read in that order and
            # each asked whether it is still in sight until 200 are, instead of asking every
            # notice the user ever had before sorting them (30,000 notices: 60 ms, now 1 ms).
            models.Index(fields=["user", "-created_at", "-id"], name="notice_newest"),
        ]

    def __str__(self) -> str:
        return self.text


class AgentProfile(models.Model):
    """What routing knows of a service agent: their skills (categories) and whether they are
    away."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    skills = models.ManyToManyField(TicketCategory, blank=True, related_name="agents")
    is_absent = models.BooleanField(_("absent"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


class SatisfactionSurvey(models.Model):
    """The one question sent when a ticket is resolved: how satisfied, 1 (very unhappy) to 5."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    sent_at = models.DateTimeField(default=timezone.now)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["answered_at"], name="survey_answered")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score if self.score is not None else '-'}"

    @property
    def is_poor(self) -> bool:
        return self.score is not None and self.score <= 2


# How long the sweep keeps trying an email to a customer the mail server did not take.
RETRY_FOR = timedelta(hours=24)
# The least a claim to send an email holds (see :func:`claim_holds_for`).
CLAIM_HOLDS_AT_LEAST = timedelta(minutes=15)
# How many times the mail server timeout (GUANXI_EMAIL_TIMEOUT, Django's EMAIL_TIMEOUT) a
# claim holds. The timeout bounds each wait of a sending, not the sending: connecting, the
# greeting, EHLO, STARTTLS and its handshake, EHLO again, AUTH (up to three exchanges), MAIL,
# RCPT, DATA, the message, its acceptance and QUIT are some fifteen waits, each of which a slow
# server may answer just within the timeout, and a reply of several lines read in several
# pieces waits once per piece. Sixty covers four times those fifteen waits.
CLAIM_HOLDS_TIMEOUTS = 60


def claim_holds_for() -> timedelta:
    """How long a claim to send an email holds (see :class:`CustomerEmail`): longer than one
    sending can last with the configured mail server timeout, and at least
    :data:`CLAIM_HOLDS_AT_LEAST`. A claim older than that was left by a process that ended
    while sending, and is taken over; taken over sooner, while a slow server was still taking
    the email, it would be sent twice. Read from the settings at each claim, so that a changed
    timeout holds from the next one. A server feeding its answers a byte at a time, each
    within the timeout, can still draw a sending out past any such bound: then the email may
    go twice, which is the side the desk errs on (at least once, never lost)."""
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 0
    # At most as long as the sweep tries an email: a claim that old was left by a process that
    # ended. A timeout whose sixty times is longer is refused by a system check (service.E001),
    # but the web server runs no checks and sends a request's own emails, and sixty times an
    # absurd timeout reaches before the year 1, failing every sending and sweep.
    holds = timedelta(seconds=min(timeout * CLAIM_HOLDS_TIMEOUTS, RETRY_FOR.total_seconds()))
    return max(CLAIM_HOLDS_AT_LEAST, holds)


# How long the sweep leaves an email not tried yet to the request that wrote it, which sends it
# once it commits: longer than that sending takes with a mail server that answers, so that the
# request's own attempt is the first (the claim keeps the two from both sending it, but the
# request would then not know how its email went); what is still untried after it (the process
# ended between the commit and the sending) is the sweep's to send.
LEFT_TO_ITS_REQUEST = timedelta(minutes=5)


class CustomerEmail(models.Model):
    """One email the desk sends a customer about a ticket: a reply written on the ticket page or
    through the API, the acknowledgement of a request they made, or the satisfaction survey.

    It is written in the transaction that writes what it is about, and sent once that commits;
    ``sent_at`` is set when the mail server took it. While the server cannot be reached or
    refuses it, it stays unsent with its last failure, is shown as such on the ticket and in
    the API, and the every-minute sweep tries it again for :data:`RETRY_FOR`; after that it is
    left for someone to send again from the ticket's page. Sent at least once rather than at
    most once: a customer not told is worse than one told twice, so an email the mail server
    took whose ``sent_at`` could not be written (the database went away in between) is sent
    again by the sweep. One table for the three kinds rather than fields on each thing sent:
    they share this whole life, and an acknowledgement has no row of its own to carry it.

    Whoever sends it (the request that wrote it, the sweep, someone sending it again) first
    claims it with one conditional update, ``sending_since`` set where it is unset (or is a
    claim older than :func:`claim_holds_for`) and the email not sent, committed before the mail
    server is reached: one claim of two at the same moment changes the row, on SQLite as on
    PostgreSQL, and the database is not held while the mail server answers.

    When the sweep stops trying it (:data:`RETRY_FOR` after it was written, tried or not: a
    sweep stopped for a day left it untried), ``given_up_at`` is set, once, and whoever holds
    the ticket is told on the bell."""

    class Kind(models.TextChoices):
        REPLY = "reply"
        ACKNOWLEDGEMENT = "acknowledgement"
        SURVEY = "survey"

    class Failure(models.TextChoices):
        UNREACHABLE = "unreachable"  # no connection, a timeout, a broken-off session
        REFUSED = "refused"  # the server answered and would not take it
        NOT_TRIED = "not_tried"  # not tried within RETRY_FOR (the sweep was not running)

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="customer_emails")
    # The reply it sends (replies only); the ticket's message follows a merge, so a reply is
    # always read through it.
    message = models.OneToOneField(
        TicketMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="customer_email",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    error = models.CharField(max_length=300, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep reads, every minute, only the ones it may still send: neither sent nor
            # given up. Those given up stay unsent for good (until someone sends them again),
            # so an index of all the unsent would only grow with them.
            models.Index(
                fields=["created_at"],
                name="customer_email_to_send",
                condition=Q(sent_at=None, given_up_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ticket_id} -> {self.to}"

    @property
    def not_sent(self) -> bool:
        """Tried and not sent: what the ticket's page and the API mark."""
        return self.sent_at is None and self.failed_at is not None

    @property
    def retried_until(self):
        return self.created_at + RETRY_FOR

    @property
    def given_up(self) -> bool:
        """No longer tried by the sweep: someone has to send it again."""
        return self.not_sent and timezone.now() >= self.retried_until
