"""Every page of the admin site that saves what it shows refuses a save from a page opened before
someone else's change, so that none of them silently puts old values back: its form carries
what it was read at (a settings row's or a user's version, a group's name and permissions) or
the model is only looked at there. A model added to the admin site without either fails here."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from guanxi.core.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

# The hidden fields that carry what a page read: a settings row's or a user's version
# (``guanxi.audit.setting_admin.VersionCheckForm``), a group's name and permissions
# (``guanxi.accounts.admin.GroupForm``).
READ_AT = {"version_read", "read_as"}


def test_every_admin_page_that_saves_refuses_a_stale_page():
    superuser = UserFactory(username="ann", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    unchecked = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_change_permission(request):
            continue
        row = model._default_manager.first() or model()
        form = model_admin.get_form(request, row if row.pk else None, change=bool(row.pk))
        if not READ_AT & set(form.base_fields):
            unchecked.append(type(model_admin).__name__)
    assert not unchecked
