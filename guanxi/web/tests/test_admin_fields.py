"""JSON typed into the admin site that no database stores (a number of thousands of digits,
NaN or Infinity, a NUL character, nesting too deep to read) is refused beside the field and
nothing is saved, on every admin page with a JSON field, instead of a server error; an emptied
box that may be empty saves the field's default instead of a null its column refuses. A
many-to-many choice posted that is no id of a row (one beyond 64 bits, which SQLite could not
even be asked about) is refused beside its field the same way."""

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.analytics.models import ValueSettings
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import CustomFieldDefinition
from guanxi.service.models import AgentProfile, ServiceCalendar, SlaPolicy, TicketCategory
from guanxi.web.admin_fields import CheckedJSONField, CheckedMultipleChoiceField

pytestmark = pytest.mark.django_db

UNSTORABLE = "Enter JSON that can be stored"
ODD_JSON = {
    "huge number": "9" * 5000,
    "overflowing number": "[1e400]",
    "NaN": '{"a": NaN}',
    "Infinity": "[-Infinity]",
    "NUL": '["a\\u0000b"]',
    "lone surrogate": '{"\\ud800": 1}',
    "too deep": "[" * 100_000 + "]" * 100_000,
}


def _fields_of_kind(kind: type, checked: type) -> list[tuple[type, str]]:
    """Every (model, field) of the admin site's forms whose field is a ``kind``, each checked
    to be a ``checked`` (of the forms that can be saved: the audit trail and the analytics runs
    are only read)."""
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="reader", is_staff=True, is_superuser=True)
    found = []
    for model, model_admin in admin.site._registry.items():
        if not (
            model_admin.has_change_permission(request) or model_admin.has_add_permission(request)
        ):
            continue
        # The add form and the change form (a user's differ).
        for row in (None, model._default_manager.order_by("pk").first()):
            form = model_admin.get_form(request, row)
            for name, field in form.base_fields.items():
                if isinstance(field, kind):
                    assert isinstance(field, checked), (model.__name__, name)
                    found.append((model, name))
    return sorted(set(found), key=lambda found: (found[0].__name__, found[1]))


def _json_fields() -> list[tuple[type, str]]:
    return _fields_of_kind(forms.JSONField, CheckedJSONField)


def _many_to_many_fields() -> list[tuple[type, str]]:
    return _fields_of_kind(forms.ModelMultipleChoiceField, CheckedMultipleChoiceField)


def test_every_json_field_of_the_admin_site_is_checked():
    assert {
        (CustomFieldDefinition, "choices"),
        (ServiceCalendar, "definition"),
        (SlaPolicy, "escalation"),
        (ValueSettings, "unit_costs"),
    } <= set(_json_fields())


def _a_row(model):
    if model is CustomFieldDefinition:
        return CustomFieldDefinition.objects.create(
            key="size", label="Size", field_type="choice", choices=["S", "M"]
        )
    if model is ValueSettings:
        return ValueSettings.objects.get_or_create(pk=1)[0]
    return model.objects.order_by("pk").first()


@pytest.mark.parametrize("odd", list(ODD_JSON), ids=list(ODD_JSON))
def test_json_no_database_stores_is_refused_beside_the_field(odd):
    (ann,) = signed_in_administrators("ann")
    text = ODD_JSON[odd]
    fields = _json_fields()
    assert fields
    for model, name in fields:
        row = _a_row(model)
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        page = ann.get(url)
        # The value as the page holds it, as a field with a default also sends it hidden.
        posted = change_form_data(page, **{name: text, f"initial-{name}": text})
        response = ann.post(url, posted)
        assert response.status_code == 200, (model.__name__, name, odd)
        errors = response.context["adminform"].form.errors
        assert list(errors) == [name], (model.__name__, name, odd, errors)
        if odd != "too deep":
            assert UNSTORABLE in errors[name][0], (model.__name__, name, odd)
        stored = model.objects.get(pk=row.pk)
        assert getattr(stored, name) == getattr(row, name), (model.__name__, name, odd)


@pytest.mark.parametrize("emptied", ["", "null"], ids=["empty", "JSON null"])
def test_an_emptied_json_box_that_may_be_empty_saves_the_default(emptied):
    (ann,) = signed_in_administrators("ann")
    definition = _a_row(CustomFieldDefinition)
    policy = _a_row(SlaPolicy)
    for row, name in ((definition, "choices"), (policy, "customer_tiers")):
        opts = row._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        response = ann.post(url, change_form_data(ann.get(url), **{name: emptied}))
        assert response.status_code == 302, response.context["adminform"].form.errors
        row.refresh_from_db()
        assert getattr(row, name) == []


def test_every_many_to_many_field_of_the_admin_site_is_checked():
    assert {
        (User, "groups"),
        (User, "user_permissions"),
        (Group, "permissions"),
        (AgentProfile, "skills"),
    } <= set(_many_to_many_fields())


@pytest.mark.parametrize("value", [str(2**63), "9" * 30, "-1", "²", "abc"])
def test_a_many_to_many_choice_that_is_no_id_is_refused_beside_the_field(company, value):
    (ann,) = signed_in_administrators("ann")
    group = Group.objects.create(name="Readers")
    profile = AgentProfile.objects.create(user=company.agent)
    profile.skills.set([TicketCategory.objects.order_by("pk").first()])
    rows = {User: company.rep, Group: group, AgentProfile: profile}
    fields = _many_to_many_fields()
    assert {model for model, _name in fields} <= set(rows)
    for model, name in fields:
        row = rows[model]
        before = sorted(getattr(row, name).values_list("pk", flat=True))
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        response = ann.post(url, change_form_data(ann.get(url), **{name: [*before, value]}))
        assert response.status_code == 200, (model.__name__, name, value)
        errors = response.context["adminform"].form.errors
        assert list(errors) == [name], (model.__name__, name, value, errors)
        assert value in errors[name][0]
        assert sorted(getattr(row, name).values_list("pk", flat=True)) == before
