from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.core.keyset import MAX_ID
from guanxi.core.limits import at_most_characters, column_length

from . import mail
from .models import Ticket, TicketCategory, email_languages


def category_choices(blank: str = "—") -> list[tuple[str, str]]:
    """Categories as an indented list, parents before their children."""
    rows = list(
        TicketCategory.objects.filter(is_active=True).values("pk", "name", "name_en", "parent_id")
    )
    children: dict = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    from django.utils.translation import get_language

    english = (get_language() or "").startswith("en")
    out = [("", blank)]

    def walk(parent, depth):
        for row in sorted(children.get(parent, []), key=lambda r: r["name"]):
            label = row["name_en"] if english and row["name_en"] else row["name"]
            out.append((str(row["pk"]), "— " * depth + label))
            walk(row["pk"], depth + 1)

    walk(None, 0)
    return out


class SubjectField(forms.CharField):
    """A ticket's subject, held to its column's length as the service stores it, collapsed onto
    one line (``mail.one_line``), as the API holds it: a subject pasted with a line break or a run
    of spaces is not refused for characters that would never be kept. No ``max_length``, so the
    input carries no maxlength at which a browser would cut such a paste short."""

    def validate(self, value):
        super().validate(value)
        # Read when the form is checked, not when the module is imported, so that the limit
        # moves with the column.
        limit = column_length(Ticket, "subject")
        if len(mail.one_line(value)) > limit:
            raise ValidationError(at_most_characters(limit), code="max_length")


class LanguageSelect(forms.Select):
    """A choice of languages, each option marked as written in its own language (``lang``), as
    it is: screen readers then read 中文 in Chinese on an English page and the other way round."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["lang"] = value
        return option


class TicketForm(forms.Form):
    # Starts empty: the first choice, complaint, made every ticket whose type the agent did not
    # look at a complaint, with the complaint policy's deadlines and a place in its reports.
    type = forms.ChoiceField(label=_("Type"), choices=[("", "—"), *Ticket.Type.choices])
    subject = SubjectField(label=_("Subject"))
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    category_id = forms.TypedChoiceField(
        label=_("Category"), coerce=int, empty_value=None, required=False
    )
    area = forms.ChoiceField(label=_("Complaint area"), choices=Ticket.Area.choices, required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Ticket.Priority.choices, initial="normal"
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Ticket.Channel.choices, initial="phone")
    # Blank guesses from the words taken down (Chinese when mostly written in it); the agent
    # on the phone heard which language the caller speaks and may say so instead.
    language = forms.ChoiceField(
        label=_("Language of emails to the customer"),
        choices=lambda: [("", _("As the request is written")), *email_languages()],
        required=False,
        widget=LanguageSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = category_choices()


class TicketFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", _("Any status")),
        ("open_any", _("Not yet resolved")),
        *Ticket.Status.choices,
    ]
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("Any type")), *Ticket.Type.choices], required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=[("", _("Any priority")), *Ticket.Priority.choices],
        required=False,
    )
    category_id = forms.TypedChoiceField(
        label=_("Category"), coerce=int, empty_value=None, required=False
    )
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    unassigned = forms.BooleanField(label=_("Unassigned"), required=False)
    breached = forms.BooleanField(label=_("Overdue"), required=False)
    customer_id = forms.IntegerField(
        label=_("Customer"), required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = category_choices(str(_("Any category")))

    def filter_errors(self) -> list[tuple[str, str]]:
        """(label, message) of each filter that is not valid, for showing above the queue."""
        if not self.is_bound or self.is_valid():
            return []
        return [
            (str(self.fields[name].label) if name in self.fields else "", message)
            for name, messages in self.errors.items()
            for message in messages
        ]

    def selector_filters(self, user) -> dict | None:
        """The filters for ``tickets_for_user``, or None when one of them is not valid:
        dropping it instead would widen the queue to every ticket the user may see."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        filters = {
            "status": data.get("status") or None,
            "type": data.get("type") or None,
            "priority": data.get("priority") or None,
            "category_id": data.get("category_id"),
            "unassigned": bool(data.get("unassigned")),
            "breached": bool(data.get("breached")),
            "customer_id": data.get("customer_id"),
        }
        if data.get("mine"):
            filters["assignee_id"] = user.pk
        return filters


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 4})
    )
    status = forms.ChoiceField(
        label=_("Then"),
        required=False,
        choices=[
            ("", _("Keep the status")),
            (Ticket.Status.PENDING_CUSTOMER, _("Wait for the customer")),
            (Ticket.Status.RESOLVED, _("Mark resolved")),
        ],
    )


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3}))


class PublicRequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    type = forms.ChoiceField(
        label=_("What is it about?"), choices=Ticket.Type.choices, initial="complaint"
    )
    category_id = forms.TypedChoiceField(
        label=_("Topic"), coerce=int, empty_value=None, required=False
    )
    subject = SubjectField(label=_("Subject"))
    description = forms.CharField(
        label=_("Tell us what happened"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10_000,
    )
    # A field people never see: bots fill it in.
    website = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = category_choices()


class SurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled your request?"),
        coerce=int,
        choices=[
            (5, _("5 — very satisfied")),
            (4, "4"),
            (3, "3"),
            (2, "2"),
            (1, _("1 — very unhappy")),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )


class CustomerReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Add to your request"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000
    )


class TicketChangeForm(forms.Form):
    """What an agent changes on the ticket's page: how urgent it is and what it is about, which
    choose its service-level policy and so its deadlines. The field names are the service's
    (``services.ticket_update``), so that what it refuses is said beside the field."""

    type = forms.ChoiceField(label=_("Type"), choices=Ticket.Type.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices)
    category_id = forms.TypedChoiceField(
        label=_("Category"), coerce=int, empty_value=None, required=False
    )
    area = forms.ChoiceField(label=_("Complaint area"), choices=Ticket.Area.choices, required=False)
    # Not required: a page from before the field was there leaves the language as it is.
    language = forms.ChoiceField(
        label=_("Language of emails to the customer"),
        choices=email_languages,
        required=False,
        widget=LanguageSelect,
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        initial = {
            "type": ticket.type,
            "priority": ticket.priority,
            "category_id": ticket.category_id,
            "area": ticket.area,
            "language": ticket.email_language,
        }
        super().__init__(*args, initial=initial, auto_id="change-%s", **kwargs)
        choices = category_choices()
        # A category retired since the ticket was filed stays on offer for this ticket: sending
        # the form to raise its priority must not drop (or be refused for) the category it has.
        if ticket.category_id and str(ticket.category_id) not in dict(choices):
            choices.append((str(ticket.category_id), ticket.category.label))
        self.fields["category_id"].choices = choices

    def changes(self, ticket: Ticket) -> dict:
        """The fields whose value differs from ``ticket``'s, as ``services.ticket_update`` takes
        them (null clears the category or the area). Only these are sent, so that a category
        retired meanwhile is checked only when it is chosen anew."""
        values = dict(self.cleaned_data)
        if values["type"] != Ticket.Type.COMPLAINT:
            values["area"] = ""  # only a complaint has an area; the service clears it too
        current = {name: getattr(ticket, name) for name in values}
        # A ticket with no language stored is emailed in the site default, which the form
        # shows chosen: sent back unchanged, it is no change.
        current["language"] = ticket.email_language
        if not values["language"]:
            del values["language"]
        return {
            name: (None if value in ("", None) else value)
            for name, value in values.items()
            if value != current[name]
        }
