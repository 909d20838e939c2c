from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.masking import mask_phone


class Tag(models.Model):
    """A free label on customers ("VIP", "展会2026"), shared by the whole company."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "view") -> "CustomerQuerySet":
        """The customers ``user`` may ``view``, ``interact`` with or ``change``.

        Every page, endpoint, search, export and report starts from here; the rule itself lives
        in :mod:`guanxi.customers.visibility`.
        """
        from .visibility import customer_scope

        return self.filter(customer_scope(user, action))


class Customer(models.Model):
    """One customer of the company, organisation or person: the single shared record that every
    department works from. A person may belong to an organisation; an organisation's people are
    its contacts."""

    class PartyType(models.TextChoices):
        ORGANIZATION = "organization", _("Organisation")
        PERSON = "person", _("Person")

    class Kind(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        INTENT = "intent", _("Intent")
        PROSPECT = "prospect", _("Prospect")
        SIGNED = "signed", _("Signed")
        INTERNAL = "internal", _("Internal")
        PARTNER = "partner", _("Partner")

    class RelationshipLevel(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Transactional")
        PREFERRED_SUPPLIER = "preferred_supplier", _("Preferred supplier")
        # Its own context: in Chinese a partner customer (合作伙伴) and a partnership (伙伴关系)
        # are different words, and a customer page shows both.
        PARTNER = "partner", pgettext_lazy("relationship level", "Partner")
        STRATEGIC_ALLIANCE = "strategic_alliance", _("Strategic alliance")

    class LifecycleStage(models.TextChoices):
        SUSPECT = "suspect", _("Suspect")
        EXPECTATION = "expectation", _("Expectation")
        FIRST_PURCHASE = "first_purchase", _("First purchase")
        REPEAT_PURCHASE = "repeat_purchase", _("Repeat purchase")
        ADVOCATE = "advocate", _("Advocate")

    class SourceChannel(models.TextChoices):
        WEB = "web", _("Website")
        VISIT = "visit", _("Visit")
        PHONE = "phone", _("Phone")
        FAX = "fax", _("Fax")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        CHAT = "chat", _("Chat / WeChat")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Trade show / event")
        OTHER = "other", _("Other")

    party_type = models.CharField(
        _("type"), max_length=20, choices=PartyType.choices, default=PartyType.PERSON
    )
    name = models.CharField(_("name"), max_length=200)
    organization = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
        limit_choices_to={"party_type": "organization"},
        verbose_name=_("organisation"),
    )
    company = models.CharField(
        _("company"),
        max_length=200,
        blank=True,
        help_text=_("For people not linked to an organisation"),
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.POTENTIAL)
    relationship_level = models.CharField(
        _("relationship level"),
        max_length=20,
        choices=RelationshipLevel.choices,
        default=RelationshipLevel.TRANSACTIONAL,
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.SUSPECT,
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    source_channel = models.CharField(
        _("source channel"), max_length=20, choices=SourceChannel.choices, blank=True
    )
    # No index of its own: the (owner, id) index below serves every lookup by owner, and each
    # index costs every insert and every update of a customer.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="owned_customers",
        verbose_name=_("account manager"),
    )
    # A person's organisation's account manager, so that the visibility rule can be asked of
    # the organisation from the person's own row (``visibility.organisation_scope``, which the
    # search needs for every row it reads). Derived: the database keeps it, whoever writes
    # (``customers.organisation_owner``), so it has no constraint or index to pay for.
    organization_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        editable=False,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The customer's key in another system (for imports)"),
    )
    # The national ID number is stored only encrypted; the masked form and a keyed hash are kept
    # beside it so lists can show it and lookups can match it without decrypting.
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=40, blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    # Folded name, pinyin, company, phone digits, emails and tags; maintained by the services.
    search_text = models.TextField(blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_contacted_at = models.DateTimeField(
        _("last contact"), null=True, blank=True, editable=False
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["name", "id"], name="customer_name_id"),
            models.Index(fields=["updated_at", "id"], name="customer_updated_id"),
            models.Index(fields=["created_at", "id"], name="customer_created_id"),
            models.Index(fields=["owner", "id"], name="customer_owner_id"),
            models.Index(fields=["kind", "id"], name="customer_kind_id"),
            models.Index(fields=["lifecycle_stage", "id"], name="customer_stage_id"),
            models.Index(fields=["relationship_level", "id"], name="customer_level_id"),
            models.Index(fields=["industry", "id"], name="customer_industry_id"),
            models.Index(fields=["region", "id"], name="customer_region_id"),
            models.Index(fields=["source_channel", "id"], name="customer_source_id"),
            # The recycle bin, newest deletion first; over the deleted customers alone, so it
            # costs nothing to the writes of customers in use.
            models.Index(
                fields=["deleted_at", "id"],
                name="customer_deleted_id",
                condition=models.Q(deleted_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=True) | models.Q(party_type="person"),
                name="customer_only_people_belong_to_organizations",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_organization(self) -> bool:
        return self.party_type == self.PartyType.ORGANIZATION

    @property
    def company_label(self) -> str:
        """The person's company as the matching engine knows it: their organisation's name,
        whoever reads (the search holds it apart, see ``customers.search``). Pages and answers
        show :attr:`company_in_sight`."""
        return self.organization.name if self.organization_id else self.company

    @property
    def company_in_sight(self) -> str:
        """The person's company as shown to a reader: their organisation's name when the reader
        may see the organisation (``organization_in_sight``, set by
        ``selectors.organisations_in_sight``), otherwise the person's own company text. Read
        without it, the organisation counts as out of sight, so no page names it by mistake."""
        organisation = getattr(self, "organization_in_sight", None)
        return organisation.name if organisation is not None else self.company


class Phone(models.Model):
    """A phone or fax number of a customer, stored in E.164 form."""

    class Label(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        WORK = "work", _("Work")
        HOME = "home", _("Home")
        FAX = "fax", _("Fax")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number"), max_length=20, db_index=True)
    display = models.CharField(_("display"), max_length=40)
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, default=Label.MOBILE)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("phone")
        verbose_name_plural = _("phones")

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return mask_phone(self.display)


class Email(models.Model):
    """An email address of a customer; ``address`` is kept lower-cased for matching."""

    class Label(models.TextChoices):
        WORK = "work", _("Work")
        PERSONAL = "personal", _("Personal")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("address"), max_length=254, db_index=True)
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, default=Label.WORK)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("email")
        verbose_name_plural = _("emails")

    def __str__(self) -> str:
        return self.address


class Address(models.Model):
    """A postal address of a customer."""

    class Label(models.TextChoices):
        OFFICE = "office", _("Office")
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")
        HOME = "home", _("Home")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, default=Label.OFFICE)
    street = models.CharField(_("street"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("province / state"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="CN")

    class Meta:
        ordering = ["id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return ", ".join(p for p in [self.street, self.city, self.region, self.postcode] if p)


class MarketingConsent(models.Model):
    """Whether a customer agreed to marketing contact on one channel, when, and how.

    Campaigns may only contact a customer on a channel whose consent is granted. Earlier states
    are kept in the audit history.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        POST = "post", _("Post")

    class Method(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        WRITTEN = "written", _("Signed in writing")
        VERBAL = "verbal", _("Verbally, recorded by staff")
        EMAIL = "email", _("By email")
        IMPORT = "import", _("Imported")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(_("when"), default=timezone.now)
    method = models.CharField(_("how"), max_length=10, choices=Method.choices)
    evidence = models.CharField(_("evidence"), max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_one_per_channel")
        ]
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")

    def __str__(self) -> str:
        return f"{self.channel}: {'yes' if self.granted else 'no'}"


class CustomFieldDefinition(models.Model):
    """A field an administrator adds to every customer (text, number, date or choice).

    Values live in ``Customer.custom_fields`` under ``key`` and are validated on every write.
    """

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(
        _("key"), max_length=50, unique=True, help_text=_("Used in imports and the API")
    )
    label = models.CharField(_("label (English)"), max_length=100)
    label_zh_hans = models.CharField(_("label (Chinese)"), max_length=100, blank=True)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("For choice fields: allowed values")
    )
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["position", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label

    def label_for(self, language_code: str) -> str:
        if language_code.startswith("zh") and self.label_zh_hans:
            return self.label_zh_hans
        return self.label


class CustomerExportJob(models.Model):
    """An Excel export of a customer list too long to write inside a web request, written in the
    background as its requester and kept for them to download for ``EXPORT_KEPT_DAYS``.

    The filters and ``reveal`` are those the export form posted; the visibility rule is applied
    when the export runs, as if the requester had clicked then."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Writing the workbook")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        # The workbook was deleted after it had been kept its days (see export_jobs).
        EXPIRED = "expired", _("Removed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    filters = models.JSONField(default=dict, blank=True)
    reveal = models.BooleanField(default=False)
    # An ExportLayout (customers/exports.py): for re-import, or for reading.
    layout = models.CharField(max_length=20, default="importable")
    # The requester's language (sheet titles, a failure's reason) and where the request came
    # from, for the audit row the export writes when it runs.
    language = models.CharField(max_length=10, default="en")
    via = models.CharField(max_length=10, default="web")
    remote_addr = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(max_length=500, blank=True, help_text="Where the workbook is kept")
    rows = models.PositiveIntegerField(_("customers"), null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer export")
        verbose_name_plural = _("customer exports")

    def __str__(self) -> str:
        return f"customer export {self.pk} ({self.status})"


class WholeNumberLookup(models.Model):
    """A whole phone number looked up (searched for, typed into a new customer's form) by
    someone who sees numbers masked: the lookups of the last day count towards their limit
    (``services.WHOLE_NUMBER_LIMITS``), older ones are deleted by the next. The number is kept
    as its keyed hash: the table would otherwise hold the numbers tried, among them the
    customers' own."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    number_hash = models.CharField(max_length=64, editable=False)
    looked_up_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["user", "looked_up_at"], name="customers_lookup_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.looked_up_at:%Y-%m-%d %H:%M}"
