"""Reading an admin page's form back as a browser would post it, so tests can open a change page
(or an editable list), change a value and save, hidden fields (the version) included."""

from html.parser import HTMLParser
from typing import Any

from django import forms

from guanxi.audit.models import AuditEvent


def _posted(bound: forms.BoundField, data: dict[str, Any]) -> None:
    value = bound.value()
    if isinstance(bound.field, forms.BooleanField):
        if value:
            data[bound.html_name] = "on"
        return
    widget = bound.field.widget
    if isinstance(widget, forms.MultiWidget):  # a date and a time, say: one input each
        parts = value if isinstance(value, list | tuple) else widget.decompress(value)
        for suffix, part in zip(widget.widgets_names, parts, strict=True):
            data[bound.html_name + suffix] = "" if part is None else part
        return
    data[bound.html_name] = "" if value is None else value


def form_data(form: forms.BaseForm, **changes) -> dict[str, Any]:
    """The values ``form`` shows, as a browser would post them back, with ``changes``."""
    data: dict[str, Any] = {}
    for bound in form:
        _posted(bound, data)
    return {**data, **changes}


def change_form_data(response, **changes) -> dict[str, Any]:
    """The values the admin change (or add) page of ``response`` shows, with ``changes``."""
    return form_data(response.context["adminform"].form, **changes)


def changelist_data(response, changes: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The editable list page of ``response`` as posted by its Save button, with ``changes``
    (by row id, then column) applied."""
    formset = response.context["cl"].formset
    data: dict[str, Any] = {"_save": "Save"}
    for bound in formset.management_form:
        data[bound.html_name] = bound.value()
    for form in formset.forms:
        row: dict[str, Any] = {}
        for bound in form:
            _posted(bound, row)
        for name, value in (changes or {}).get(form.instance.pk, {}).items():
            key = form.add_prefix(name)
            if value is False:
                row.pop(key, None)
            else:
                row[key] = "on" if value is True else value
        data.update(row)
    return data


def delete_confirmation_data(response) -> dict[str, Any]:
    """What the admin delete page of ``response`` posts when confirmed: the version of the
    setting as the page showed it included."""
    return {"post": "yes", "version_read": response.context["object"].version}


class _PostForms(HTMLParser):
    """The hidden inputs of each form of a page that posts, in page order."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.forms.append([])
            self._inside = True
        elif tag == "input" and self._inside and attrs.get("type") == "hidden":
            self.forms[-1].append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


def delete_selected_confirmation_data(response) -> dict[str, Any]:
    """What the confirmation page of the list's bulk delete action (``response``) posts when
    confirmed, read from the page itself: the selected ids, and each one's version as the page
    showed it."""
    parser = _PostForms()
    parser.feed(response.content.decode())
    [confirmation] = [inputs for inputs in parser.forms if ("post", "yes") in inputs]
    data: dict[str, Any] = {}
    for name, value in confirmation:
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(value)
    return data


def signed_in_administrators(*usernames: str) -> list:
    """A test client per name, each signed in as a superuser of that name: administrators
    working in the admin site side by side."""
    from django.test import Client

    from .factories import UserFactory

    clients = []
    for username in usernames:
        client = Client()
        client.force_login(UserFactory(username=username, is_staff=True, is_superuser=True))
        clients.append(client)
    return clients


def refused_as_stale(response, name: str) -> bool:
    """Whether ``response`` is an admin change page shown again with its save refused because
    the page was read before someone else's change of this ``name`` (a user, a group)."""
    return response.status_code == 200 and (
        f"This {name} was changed by someone else since you opened it"
        in str(response.context["adminform"].form.non_field_errors())
    )


def audit_events(object_type: str, object_id: int) -> list[AuditEvent]:
    """The audit rows recorded for one object, oldest first."""
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=object_id).order_by("id")
    )
