"""The customer form of the web UI: turning what a browser posts into the services' input, and
the services' field errors back into messages beside the right input.

There is deliberately no second set of validation rules here. The form only gathers the posted
values (including the repeating phone, email and address rows) into the same dictionary the API
sends, and :func:`guanxi.customers.validation.clean_customer_data` decides what is valid. That
keeps the web UI, the API and imports agreeing on every rule.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.selectors import assignable_owners_for_user, staff_directory_for_user
from guanxi.core.keyset import DEFAULT_ORDERINGS
from guanxi.core.masking import text_as_seen_by
from guanxi.web.params import int_param

from .exports import ExportFormat, ExportLayout
from .models import Address, Customer, CustomFieldDefinition, Email, MarketingConsent, Phone
from .search import normalise
from .selectors import organisation_in_sight_of, organisations_named
from .validation import clean_customer_data
from .visibility import VIEW

# ---------------------------------------------------------------------------------------------
# Filters of the customer list


SORT_CHOICES = [
    ("-updated_at", _("Recently updated")),
    ("name", _("Name A–Z")),
    ("-name", _("Name Z–A")),
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
]
DEFAULT_SORT = "-updated_at"


def _blank(choices) -> list[tuple[str, str]]:
    return [("", _("Any")), *choices]


class CustomerFilterForm(forms.Form):
    """The search box and filters above the customer list (all optional)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(Customer.Kind.choices))
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"),
        required=False,
        choices=_blank(Customer.LifecycleStage.choices),
    )
    relationship_level = forms.ChoiceField(
        label=_("Relationship level"),
        required=False,
        choices=_blank(Customer.RelationshipLevel.choices),
    )
    party_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=_blank(Customer.PartyType.choices)
    )
    source_channel = forms.ChoiceField(
        label=_("Source"), required=False, choices=_blank(Customer.SourceChannel.choices)
    )
    owner = forms.ChoiceField(label=_("Account manager"), required=False)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("Unowned pool")),
            ("inactive", _("No longer active")),
            *[(str(u.pk), u.label) for u in staff_directory_for_user(user)],
        ]

    def filters_are_valid(self) -> bool:
        """Whether every filter is valid. An unknown sort order only falls back to the
        default; any other invalid value (a search longer than 200 characters or with a NUL
        in it) means the list cannot be shown as asked."""
        return self.is_valid() or set(self.errors) <= {"sort"}

    def filter_errors(self) -> list[tuple[str, str]]:
        """(label, message) of each filter that is not valid, for showing beside the list."""
        if self.filters_are_valid():
            return []
        return [
            (self.fields[name].label, message)
            for name, messages in self.errors.items()
            if name != "sort"
            for message in messages
        ]

    def selector_filters(self) -> dict[str, Any] | None:
        """The filters for ``customer_list_for_user``, or None when one of them is not valid:
        dropping it instead would widen the list, so that a search too long to run showed,
        or exported, every customer."""
        if not self.filters_are_valid():
            return None
        data = self.cleaned_data
        filters = {
            name: data.get(name)
            for name in (
                "q",
                "kind",
                "lifecycle_stage",
                "relationship_level",
                "party_type",
                "source_channel",
                "industry",
                "region",
                "tag",
            )
            if data.get(name)
        }
        owner = data.get("owner")
        if owner == "me":
            filters["owner_id"] = self.user.pk
        elif owner == "none":
            filters["unowned"] = True
        elif owner == "inactive":
            filters["owner_inactive"] = True
        elif owner:
            filters["owner_id"] = int(owner)
        return filters

    def ordering(self) -> str:
        sort = self.cleaned_data.get("sort") if self.filters_are_valid() else None
        return sort if sort in DEFAULT_ORDERINGS else DEFAULT_SORT

    def is_filtered(self) -> bool:
        return self.selector_filters() != {}

    def export_params(self) -> dict[str, str]:
        """The filters as submitted, for the export form to post along: only this form's
        own fields, so that a stray parameter in the address cannot override the format or
        reveal choice made in the export form."""
        return {name: self.data[name] for name in self.fields if self.data.get(name)}


class CustomerExportForm(forms.Form):
    """The format and layout chosen beside the export buttons; the list's filters are posted
    alongside and read by :class:`CustomerFilterForm`."""

    format = forms.ChoiceField(
        label=_("Export format"),
        choices=ExportFormat.choices,
        initial=ExportFormat.CSV,
        required=False,
    )

    layout = forms.ChoiceField(
        label=_("What the file is for"),
        choices=ExportLayout.choices,
        initial=ExportLayout.IMPORTABLE,
        required=False,
    )

    def clean_format(self) -> str:
        # A form posted by an older page, or by a script, without a format gets the CSV it
        # always got.
        return self.cleaned_data["format"] or ExportFormat.CSV

    def clean_layout(self) -> str:
        # Likewise the file for re-import it always got.
        return self.cleaned_data["layout"] or ExportLayout.IMPORTABLE


# ---------------------------------------------------------------------------------------------
# The customer create/edit form


@dataclass
class Input:
    """One rendered input: its posted name, label, kind, value, choices and messages."""

    name: str
    label: str
    kind: str = "text"  # text, select, date, textarea, number, url, email
    value: Any = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    help: str = ""
    required: bool = False
    errors: list[str] = field(default_factory=list)
    saved_value: str | None = None  # the value someone else saved meanwhile, when it differs
    maxlength: int | None = None


@dataclass
class Row:
    """One row of a repeating group (a phone, an email, an address, a consent)."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


SCALAR_INPUTS = (
    "party_type",
    "name",
    "company",
    "job_title",
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
    "owner_id",
    "birth_date",
    "website",
    "external_id",
    "notes",
)
ADDRESS_PARTS = ("street", "city", "region", "postcode", "country")
CONSENT_STATES = [("", _("Not recorded")), ("yes", _("Granted")), ("no", _("Refused"))]
_PATH = re.compile(r"^(phones|emails|addresses|consents|tags)\[(\d+)\](?:\.(\w+))?$")


def _model_field(name: str):
    for candidate in (name, name.removesuffix("_id")):
        try:
            return Customer._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    raise FieldDoesNotExist(name)


class CustomerForm:
    """Values of the customer form, from a saved customer and/or a POST, with field errors.

    ``service_data()`` is what :func:`customer_create` / :func:`customer_update` receive;
    ``apply_errors()`` places a service ``ValidationError`` beside the inputs it names.
    """

    def __init__(self, *, user: User, customer: Customer | None = None, post=None):
        self.user = user
        self.customer = customer
        self.post = post
        self.errors: dict[str, list[str]] = {}
        self.non_field_errors: list[str] = []
        self.conflicts: dict[str, str] = {}
        self.organization_choices: list[Customer] = []
        # A person's organisation out of the user's sight: the form names it nowhere, and the
        # person stays in it unless the user puts them in another or ticks "Remove from this
        # organisation" (``leave_organization``; see service_data).
        self.organization_hidden = (
            customer is not None
            and bool(customer.organization_id)
            and organisation_in_sight_of(user, customer) is None
        )
        self.leave_organization = False
        self.definitions = list(CustomFieldDefinition.objects.filter(is_active=True))
        self._row_positions: dict[str, list[int]] = {}
        if post is not None:
            self._read_post(post)
        elif customer is not None:
            self._read_customer(customer)
        else:
            self._read_defaults()

    # -- reading values --------------------------------------------------------------------

    def _read_defaults(self) -> None:
        self.scalars = dict.fromkeys(SCALAR_INPUTS, "")
        self.scalars.update(
            party_type=Customer.PartyType.PERSON,
            kind=Customer.Kind.POTENTIAL,
            relationship_level=Customer.RelationshipLevel.TRANSACTIONAL,
            lifecycle_stage=Customer.LifecycleStage.SUSPECT,
            owner_id=str(self.user.pk),
        )
        self.organization_id = ""
        self.organization_label = ""
        self.tags = ""
        self.phones = [Row({"number": "", "label": ""})]
        self.emails = [Row({"address": "", "label": Email.Label.WORK})]
        self.addresses = [Row({"label": Address.Label.OFFICE, **dict.fromkeys(ADDRESS_PARTS, "")})]
        self.addresses[0].values["country"] = "CN"
        self.custom = self._custom_shown(None)
        self.consents = self._consent_rows_from({})
        self.id_number = ""
        self.clear_id_number = False
        self.version = ""

    def _read_customer(self, customer: Customer) -> None:
        self.scalars = {}
        for name in SCALAR_INPUTS:
            value = getattr(customer, name)
            if value is None:
                value = ""
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            self.scalars[name] = str(value)
        # As the customer page shows them; sent back so, the stored notes stay
        # (``services.customer_update``).
        self.scalars["notes"] = text_as_seen_by(self.user, self.scalars["notes"])
        organisation = None if self.organization_hidden else customer.organization
        self.organization_id = str(organisation.pk) if organisation is not None else ""
        self.organization_label = organisation.name if organisation is not None else ""
        self.tags = ", ".join(t.name for t in customer.tags.all())
        # Masked for everyone, as on the customer page, where whoever may see numbers in full
        # asks for them with "Show full numbers" and that is audited; a number sent back as
        # shown keeps the stored one (``validation._clean_phones``).
        # Each row names its stored number by id: two numbers can be masked alike, and a row
        # removed above moves the others up.
        self.phones = [
            Row({"number": p.masked, "label": p.label, "id": str(p.pk)})
            for p in customer.phones.all()
        ]
        self.emails = [Row({"address": e.address, "label": e.label}) for e in customer.emails.all()]
        self.addresses = [
            Row({"label": a.label, **{k: getattr(a, k) for k in ADDRESS_PARTS}})
            for a in customer.addresses.all()
        ]
        self._add_blank_rows()
        self.custom = self._custom_shown(customer)
        self.consents = self._consent_rows_from({c.channel: c for c in customer.consents.all()})
        self.id_number = ""
        self.clear_id_number = False
        self.version = str(customer.version)

    def _add_blank_rows(self) -> None:
        """End each repeating group with one empty row, so that a phone, email or address can
        be added without JavaScript (the "Add" buttons only add more); empty rows are ignored."""
        if not self.phones or self.phones[-1].values["number"]:
            self.phones.append(Row({"number": "", "label": ""}))
        if not self.emails or self.emails[-1].values["address"]:
            self.emails.append(Row({"address": "", "label": Email.Label.WORK}))
        if not self.addresses or any(
            self.addresses[-1].values.get(k) for k in ("street", "city", "region", "postcode")
        ):
            self.addresses.append(
                Row({"label": Address.Label.OFFICE, **dict.fromkeys(ADDRESS_PARTS, "")})
            )

    def _custom_shown(self, customer: Customer | None) -> dict[str, str]:
        """The custom fields' inputs as the form shows ``customer`` (all empty for a new one)."""
        values = (customer.custom_fields or {}) if customer is not None else {}
        return {d.key: str(values.get(d.key, "")) for d in self.definitions}

    def _consent_rows_from(self, existing: dict[str, MarketingConsent]) -> list[Row]:
        rows = []
        for channel, label in MarketingConsent.Channel.choices:
            consent = existing.get(channel)
            rows.append(
                Row(
                    {
                        "channel": channel,
                        "channel_label": str(label),
                        "state": "" if consent is None else ("yes" if consent.granted else "no"),
                        "method": consent.method if consent else "",
                        "evidence": consent.evidence if consent else "",
                        # The day in the server's time zone, as the customer page and its
                        # history name it, not the stored UTC one.
                        "recorded_at": (
                            f"{timezone.localtime(consent.recorded_at):%Y-%m-%d}" if consent else ""
                        ),
                    }
                )
            )
        return rows

    def _read_post(self, post) -> None:
        self.scalars = {name: post.get(name, "").strip() for name in SCALAR_INPUTS}
        self.organization_id = post.get("organization_id", "").strip()
        self.organization_label = post.get("organization_label", "").strip()
        # Only offered, and only read, for an organisation out of the user's sight.
        self.leave_organization = (
            self.organization_hidden and post.get("leave_organization") == "on"
        )
        # One of several organisations of the typed name, chosen after the form said so.
        pick = post.get("organization_pick", "").strip()
        if int_param(pick) is not None:
            self.organization_id = pick
        self.tags = post.get("tags", "")
        phone_ids = post.getlist("phone_id")
        self.phones = [
            Row(
                {
                    "number": n.strip(),
                    "label": lbl,
                    "id": phone_ids[i].strip() if i < len(phone_ids) else "",
                }
            )
            for i, (n, lbl) in enumerate(
                zip(post.getlist("phone_number"), post.getlist("phone_label"), strict=False)
            )
        ]
        self.emails = [
            Row({"address": a.strip(), "label": lbl})
            for a, lbl in zip(
                post.getlist("email_address"), post.getlist("email_label"), strict=False
            )
        ]
        columns = [post.getlist(f"address_{part}") for part in ("label", *ADDRESS_PARTS)]
        self.addresses = [
            Row(dict(zip(("label", *ADDRESS_PARTS), (v.strip() for v in values), strict=True)))
            for values in zip(*columns, strict=False)
        ]
        # Rows are only ever added at the end, so the positions of the posted rows, which
        # field errors refer to, stay as they were.
        self._add_blank_rows()
        self.custom = {d.key: post.get(f"custom_{d.key}", "").strip() for d in self.definitions}
        self.consents = []
        for channel, label in MarketingConsent.Channel.choices:
            self.consents.append(
                Row(
                    {
                        "channel": channel,
                        "channel_label": str(label),
                        "state": post.get(f"consent_{channel}_state", ""),
                        "method": post.get(f"consent_{channel}_method", ""),
                        "evidence": post.get(f"consent_{channel}_evidence", "").strip(),
                        "recorded_at": "",
                    }
                )
            )
        self.id_number = post.get("id_number", "").strip()
        self.clear_id_number = post.get("clear_id_number") == "on"
        self.version = post.get("version", "")

    # -- building the service input ------------------------------------------------------------

    def expected_version(self) -> int | None:
        try:
            return int(self.version)
        except ValueError:
            return None

    def service_data(self, *, draft: bool = False) -> dict[str, Any]:
        """What the services receive. With ``draft`` (the duplicate hints while someone types),
        the organisation is the one picked, if any: a name typed half-way is no error yet, and
        is not looked up on every keystroke."""
        data: dict[str, Any] = {}
        for name in SCALAR_INPUTS:
            value: Any = self.scalars.get(name, "")
            if name == "owner_id":
                # Text that is no user id goes on as it is, for the check to refuse beside
                # the field rather than to be read as "no account manager".
                number = int_param(value)
                value = None if value == "" else value if number is None else number
            elif name in ("birth_date", "external_id", "source_channel") and value == "":
                value = None if name != "source_channel" else ""
            data[name] = value
        is_person = self.scalars.get("party_type") == Customer.PartyType.PERSON
        organisation_error = None
        data["organization_id"] = None
        if is_person and draft:
            data["organization_id"] = int_param(self.organization_id)
        elif self.organization_hidden and not self.organization_label:
            # The person's organisation out of the user's sight, which the box never showed:
            # left out, so that it stays as it is, as a key an API client leaves out does,
            # unless the user ticked "Remove from this organisation" (None unlinks). Left out
            # for a person made an organisation too, which the check then refuses ("Remove the
            # organisation first"), rather than taking the person out of it unasked.
            self.organization_id = ""
            if not self.leave_organization:
                del data["organization_id"]
        elif is_person:
            try:
                data["organization_id"] = self._organisation_id()
            except ValidationError as exc:
                organisation_error = exc
        elif (
            self.customer is not None and self.customer.organization_id and self.organization_label
        ):
            # A person in an organisation made an organisation with the box still naming one:
            # left out, for the check to refuse ("Remove the organisation first"); with the box
            # emptied, None takes them out of it as they change.
            del data["organization_id"]

        self._row_positions = {}
        data["phones"] = self._rows_for_service(
            "phones",
            self.phones,
            lambda r: r.values["number"],
            lambda r: {
                "number": r.values["number"],
                "label": r.values["label"],
                "id": int_param(r.values.get("id", "")),
            },
        )
        data["emails"] = self._rows_for_service(
            "emails",
            self.emails,
            lambda r: r.values["address"],
            lambda r: {"address": r.values["address"], "label": r.values["label"]},
        )
        data["addresses"] = self._rows_for_service(
            "addresses",
            self.addresses,
            lambda r: any(r.values.get(k) for k in ("street", "city", "region", "postcode")),
            lambda r: {k: r.values.get(k, "") for k in ("label", *ADDRESS_PARTS)},
        )
        data["tags"] = [t.strip() for t in re.split(r"[,，;；]", self.tags) if t.strip()]
        # Only the fields typed otherwise than shown: the others stay as they are, as keys an
        # API client leaves out do. Sent whole, a desk with more custom fields than a write may
        # name (``validation.MAX_CUSTOM_FIELDS``) could save no customer on the form.
        shown = self._custom_shown(self.customer)
        data["custom_fields"] = {
            key: value for key, value in self.custom.items() if value != shown.get(key)
        }
        consents = self._changed_consents()
        if consents:
            data["consents"] = consents
        if self.customer is None and data["owner_id"] is None and not self._may_unown():
            # Only managers keep customers in the unowned pool; anyone else creating a
            # customer without naming an owner becomes its account manager.
            del data["owner_id"]
        if self.clear_id_number:
            data["id_number"] = ""
        elif self.id_number:
            data["id_number"] = self.id_number
        if organisation_error is not None:
            raise self._with_other_errors(organisation_error, data)
        return data

    def _organisation_id(self) -> int | None:
        """The organisation a person is linked to, from the text in the organisation box.

        A suggestion picked with JavaScript fills the hidden id; it counts while the box
        still shows that organisation's name. Otherwise (no JavaScript, or a name typed in
        full and not picked) the name is looked up among the organisations the user may see.
        An emptied box unlinks (an organisation out of the user's sight, which the box never
        showed, is not asked about: see :meth:`service_data`). Raises a ``ValidationError`` on
        ``organization_id`` when the name matches no organisation or several, rather than
        saving without it.
        """
        label = self.organization_label
        current = self.customer.organization if self.customer is not None else None
        if not label:
            self.organization_id = ""
            return None
        wanted = normalise(label)
        if (
            current is not None
            and not self.organization_hidden
            and int_param(self.organization_id) == current.pk
            and normalise(current.name) == wanted
        ):
            # The person's own organisation, left as it was.
            return current.pk
        if (organization_id := int_param(self.organization_id)) is not None:
            picked = (
                Customer.objects.visible_to(self.user, VIEW)
                .filter(pk=organization_id, party_type=Customer.PartyType.ORGANIZATION)
                .only("id", "name")
                .first()
            )
            if picked is not None and normalise(picked.name) == wanted:
                return picked.pk
        matches = organisations_named(self.user, label)
        if len(matches) == 1:
            self.organization_id = str(matches[0].pk)
            return matches[0].pk
        self.organization_id = ""
        if not matches:
            message = _("No organisation you can see is called “%(name)s”.")
        else:
            message = _("Several organisations are called “%(name)s”: choose one.")
            self.organization_choices = matches
        raise ValidationError({"organization_id": message % {"name": label}})

    def _with_other_errors(self, error: ValidationError, data: dict[str, Any]) -> ValidationError:
        """``error`` together with whatever else is wrong in ``data``, so that the form shows
        every problem at once although the service is not called. The customer is copied:
        the validation applies the values to the instance it checks."""
        others = {k: v for k, v in data.items() if k != "organization_id"}
        instance = copy.copy(self.customer) if self.customer is not None else None
        try:
            clean_customer_data(others, actor=self.user, instance=instance)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            return ValidationError({**messages, **error.message_dict})
        return error

    def _may_unown(self) -> bool:
        return self.user.is_superuser or self.user.role in (Role.ADMIN, Role.MANAGER)

    def _rows_for_service(self, group: str, rows: list[Row], is_filled, to_item) -> list:
        items, positions = [], []
        for position, row in enumerate(rows):
            if is_filled(row):
                items.append(to_item(row))
                positions.append(position)
        self._row_positions[group] = positions
        return items

    def _changed_consents(self) -> list[dict[str, Any]]:
        """Only consents the user actually changed are sent, so saving the form does not
        re-date consent that was given long ago."""
        existing = {}
        if self.customer is not None:
            existing = {c.channel: c for c in self.customer.consents.all()}
        changed, positions = [], []
        for position, row in enumerate(self.consents):
            state = row.values["state"]
            if state not in ("yes", "no"):
                continue
            granted = state == "yes"
            before = existing.get(row.values["channel"])
            if (
                before is not None
                and before.granted == granted
                and before.method == row.values["method"]
                and before.evidence == row.values["evidence"]
            ):
                continue
            changed.append(
                {
                    "channel": row.values["channel"],
                    "granted": granted,
                    "method": row.values["method"] or None,
                    "evidence": row.values["evidence"],
                }
            )
            positions.append(position)
        self._row_positions["consents"] = positions
        return changed

    # -- errors --------------------------------------------------------------------------------

    def apply_errors(self, error: ValidationError) -> None:
        messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
        for path, texts in messages.items():
            match = _PATH.match(path)
            if match:
                group, index, part = match.group(1), int(match.group(2)), match.group(3)
                if group == "tags":
                    self.errors.setdefault("tags", []).extend(texts)
                    continue
                positions = self._row_positions.get(group, [])
                rows = getattr(self, group)
                if index < len(positions):
                    row = rows[positions[index]]
                    row.errors.extend(texts)
                    if part:
                        row.values.setdefault("_bad", part)
                    continue
            if path.startswith("custom_fields."):
                self.errors.setdefault("custom_" + path.split(".", 1)[1], []).extend(texts)
            elif path in ("phones", "emails", "addresses", "consents"):
                getattr(self, path)[0].errors.extend(texts)
            elif path in SCALAR_INPUTS or path in ("organization_id", "id_number", "tags"):
                self.errors.setdefault(path, []).extend(texts)
            else:
                self.non_field_errors.extend(texts)

    def mark_conflicts(self, saved: Customer) -> None:
        """After a stale save, show beside each input the value that is saved now."""
        current = CustomerForm(user=self.user, customer=saved)
        self.conflicts = {}
        for name in SCALAR_INPUTS:
            if current.scalars[name] != self.scalars.get(name, ""):
                self.conflicts[name] = current.display_value(name)
        if current.tags != self.tags:
            self.conflicts["tags"] = current.tags
        for group in ("phones", "emails"):
            key = "number" if group == "phones" else "address"
            saved_list = [r.values[key] for r in getattr(current, group) if r.values[key]]
            mine = [r.values[key] for r in getattr(self, group) if r.values[key]]
            if saved_list != mine:
                self.conflicts[group] = ", ".join(saved_list) or "—"
        self.version = str(saved.version)

    def display_value(self, name: str) -> str:
        value = self.scalars.get(name, "")
        if name == "owner_id" and value:
            user = User.objects.filter(pk=value).first()
            return user.label if user else value
        try:
            model_field = _model_field(name)
        except FieldDoesNotExist:
            return value
        for key, label in getattr(model_field, "choices", None) or []:
            if key == value:
                return str(label)
        return value or "—"

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or self.non_field_errors
            or any(r.errors for g in (self.phones, self.emails, self.addresses) for r in g)
            or any(r.errors for r in self.consents)
        )

    # -- rendering -----------------------------------------------------------------------------

    def _input(self, name: str, kind: str = "text", **extra) -> Input:
        model_field = _model_field(name)
        choices = list(getattr(model_field, "choices", None) or [])
        if kind == "select" and model_field.blank:
            choices = [("", "—"), *choices]
        return Input(
            name=name,
            label=str(model_field.verbose_name).capitalize(),
            kind=kind,
            value=self.scalars.get(name, ""),
            choices=[(str(k), str(v)) for k, v in choices],
            errors=self.errors.get(name, []),
            saved_value=getattr(self, "conflicts", {}).get(name),
            maxlength=getattr(model_field, "max_length", None),
            required=not model_field.blank,
            **extra,
        )

    def owner_input(self) -> Input:
        owners = list(assignable_owners_for_user(self.user))
        current = self.scalars.get("owner_id", "")
        choices = [(str(u.pk), u.label) for u in owners]
        if current and current not in {c[0] for c in choices}:
            user = User.objects.filter(pk=int_param(current)).first()
            if user is not None:
                choices.insert(0, (current, user.label))
        if self._may_unown():
            choices.insert(0, ("", f"— {_('Unowned pool')} —"))
        field_input = self._input("owner_id", "select")
        field_input.choices = [(k, str(v)) for k, v in choices]
        field_input.required = False
        return field_input

    def sections(self) -> dict[str, list[Input]]:
        """The scalar inputs grouped as the form shows them."""
        return {
            "identity": [
                self._input("party_type", "select"),
                self._input("name"),
                self._input("company", help=_("For people not linked to an organisation")),
                self._input("job_title"),
            ],
            "classification": [
                self._input("kind", "select"),
                self._input("relationship_level", "select"),
                self._input("lifecycle_stage", "select"),
                self._input("source_channel", "select"),
                self._input("industry"),
                self._input("region"),
                self.owner_input(),
            ],
            "more": [
                self._input("birth_date", "date"),
                self._input("website", "url"),
                self._input("external_id", help=_("The customer's key in another system")),
            ],
        }

    def notes_input(self) -> Input:
        return self._input("notes", "textarea")

    def custom_inputs(self) -> list[Input]:
        language = getattr(self, "language", "en")
        inputs = []
        for definition in self.definitions:
            kind = {
                CustomFieldDefinition.FieldType.NUMBER: "number",
                CustomFieldDefinition.FieldType.DATE: "date",
                CustomFieldDefinition.FieldType.CHOICE: "select",
            }.get(definition.field_type, "text")
            inputs.append(
                Input(
                    name=f"custom_{definition.key}",
                    label=definition.label_for(language),
                    kind=kind,
                    value=self.custom.get(definition.key, ""),
                    choices=[("", "—"), *[(str(c), str(c)) for c in definition.choices]],
                    required=definition.required,
                    errors=self.errors.get(f"custom_{definition.key}", []),
                )
            )
        return inputs

    @staticmethod
    def phone_labels():
        # Unchosen, the label is the number's kind: a fixed line is a work number, not a mobile.
        return [("", _("By the number")), *Phone.Label.choices]

    @staticmethod
    def email_labels():
        return Email.Label.choices

    @staticmethod
    def address_labels():
        return Address.Label.choices

    @staticmethod
    def consent_states():
        return CONSENT_STATES

    @staticmethod
    def consent_methods():
        return [("", "—"), *MarketingConsent.Method.choices]


class RecycleBinFilterForm(forms.Form):
    """The recycle bin's search: words as the customer list takes them, over the deleted
    customers."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)

    def query(self) -> str | None:
        """The words to look for ("" for all), or None when they cannot be searched for (too
        long, a NUL character): the bin then shows nobody rather than everybody."""
        if not self.is_valid():
            return None
        return self.cleaned_data.get("q") or ""


class ReassignForm(forms.Form):
    """Handing all customers of one account manager (or the unowned pool) to another."""

    from_owner = forms.ChoiceField(label=_("Current account manager"))
    to_owner = forms.ChoiceField(label=_("New account manager"))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = [(str(u.pk), _owner_choice_label(u)) for u in User.objects.order_by("username")]
        self.fields["from_owner"].choices = [
            ("", "—"),
            ("none", _("Unowned pool")),
            *everyone,
        ]
        self.fields["to_owner"].choices = [
            ("", "—"),
            ("none", _("Unowned pool")),
            *[(str(u.pk), u.label_with_username) for u in assignable_owners_for_user(user)],
        ]

    def from_owner_id(self) -> int | None:
        value = self.cleaned_data["from_owner"]
        return None if value == "none" else int(value)

    def to_owner_id(self) -> int | None:
        value = self.cleaned_data["to_owner"]
        return None if value == "none" else int(value)


def _owner_choice_label(user: User) -> str:
    if not user.is_active:
        return _("%(user)s, no longer active") % {"user": user.label_with_username}
    return user.label_with_username
