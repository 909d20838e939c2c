"""How the engine's field levels read on a page: "same phone", "name sounds the same"."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (field, level) -> words; a level missing here reads as "<field>: <level>".
LABELS = {
    ("name", "exact"): _("same name"),
    ("name", "same sound"): _("name sounds the same"),
    ("name", "partial"): _("part of the name"),
    ("name", "close"): _("name nearly the same"),
    ("name", "similar"): _("similar name"),
    ("name", "different"): _("different name"),
    ("organization_name", "exact"): _("same organisation name"),
    ("organization_name", "same sound"): _("organisation name sounds the same"),
    ("organization_name", "partial"): _("part of the organisation name"),
    ("organization_name", "close"): _("organisation name nearly the same"),
    ("organization_name", "similar"): _("similar organisation name"),
    ("organization_name", "different"): _("different organisation name"),
    ("phone", "shared"): _("same mobile phone"),
    ("phone", "different"): _("different mobile phones"),
    ("email", "shared"): _("same email"),
    ("email", "different"): _("different emails"),
    # A request to the service desk from one's address whose sender could not be verified.
    ("email", "unverified request"): _("request from their email, sender not verified"),
    # A request through the public form giving their number, which anyone may have typed.
    ("phone", "public form"): _("request through the public form giving their mobile phone"),
    ("id_number", "same"): _("same ID number"),
    ("id_number", "different"): _("different ID numbers"),
    ("birth_date", "same"): _("same birth date"),
    ("birth_date", "one typo"): _("birth date one digit apart"),
    ("birth_date", "different"): _("different birth dates"),
    ("company", "same"): _("same employer"),
    ("company", "close"): _("similar employer"),
    ("company", "different"): _("different employers"),
    ("shared_contact", "shared"): _("same office phone or shared mailbox"),
    ("shared_contact", "different"): _("different office phones and mailboxes"),
    ("address", "same street"): _("same address"),
    ("address", "similar street"): _("similar address"),
    ("address", "same postcode"): _("same postcode"),
    ("address", "same city"): _("same city"),
    ("address", "different"): _("different addresses"),
}


@register.filter
def reason_label(reason: dict) -> str:
    key = (reason.get("field"), reason.get("level"))
    if key in LABELS:
        return str(LABELS[key])
    return f"{reason.get('field')}: {reason.get('level')}"
