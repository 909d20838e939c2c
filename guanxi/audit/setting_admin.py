"""The admin site's half of editing settings (categories, calendars, policies, departments,
teams, tags, custom fields, agents' profiles, the value settings): every save and delete goes
through the app's service, which writes the audit row, and every form carries the version the
page was read at, so a save from a page opened before someone else's save is refused instead of
silently putting the old values back.

It is written once, here, rather than in each app's admin: every settings model needs the same
pieces (the hidden version on the form and on each row of an editable list, the refusal, deletes
through a service, and catching a refusal that only shows at the moment of saving), and a model
that missed one would quietly lose edits or audit rows.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db import router, transaction
from django.http import HttpResponseRedirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.web.admin_fields import CheckedFieldsMixin
from guanxi.web.admin_selection import CheckedSelectionMixin
from guanxi.web.params import int_param

from .services import StaleSettingError, stale_setting_message


class VersionCheckForm(forms.ModelForm):
    """A settings form that remembers the version it was read at (``version_read``, hidden) and
    refuses to save over a newer one.

    On the change page the stored row is read locked: the page saves in the transaction it
    cleans in, so on PostgreSQL a second administrator's save waits for the first and then sees
    its version. The list page cleans its rows before its transaction starts, where no lock can
    be taken (nor held until the save). The service compares the versions again under its own
    lock, which is what catches a save that went stale in between, there and on SQLite."""

    # Hidden, but the admin still prints its label in the hidden row: one that reads in both
    # languages.
    version_read = forms.IntegerField(label=_("version"), widget=forms.HiddenInput, required=False)

    # Where the refusal is shown. The list page shows no form-wide errors of a row, only those
    # of its editable cells, so there it is set to the first editable column.
    stale_error_field: str | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("version_read", self.instance.version)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            stored = type(self.instance)._default_manager.filter(pk=self.instance.pk)
            if transaction.get_connection(stored.db).in_atomic_block:
                # The row alone: a model listed by a related row's field (teams by their
                # department's name) joins that row, and FOR UPDATE would lock it too, before
                # the page locks what it needs in its own order (users, teams, departments).
                stored = stored.select_for_update(of=("self",))
            current = stored.values_list("version", flat=True).first()
            # A form without a version (an old page, a script) cannot show what it read, so
            # it is refused like a stale one.
            if cleaned.get("version_read") is None or cleaned["version_read"] != current:
                self.add_error(self.stale_error_field, stale_setting_message(type(self.instance)))
        return cleaned


class _HiddenIdWithVersion(forms.HiddenInput):
    """The hidden id of a row of the list page, followed by the row's hidden version: the list
    page renders no hidden input of a row but its id, so the version travels with it."""

    def __init__(self, version_field: forms.BoundField):
        super().__init__()
        self.version_field = version_field

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, value, attrs, renderer) + str(self.version_field)


class StaleSelectionError(Exception):
    """Some rows of a bulk delete changed or vanished since its confirmation page showed them:
    deleting the selection would delete what the administrator did not confirm."""

    def __init__(self, model, *, changed: list, vanished: list[int]):
        self.changed, self.vanished = changed, vanished
        rows = [gettext("“%(name)s” (changed)") % {"name": row} for row in changed]
        rows += [gettext("#%(id)s (deleted)") % {"id": pk} for pk in vanished]
        super().__init__(
            gettext(
                "Nothing was deleted: someone else changed or deleted these %(settings)s since "
                "the confirmation page showed them: %(rows)s. Look at them again and select "
                "the ones to delete anew."
            )
            % {"settings": model._meta.verbose_name_plural, "rows": gettext(", ").join(rows)}
        )


class AuditedSettingAdmin(CheckedSelectionMixin, CheckedFieldsMixin, admin.ModelAdmin):
    """The base of the admin of a settings model. Subclasses say how a row is saved
    (:meth:`save_setting`) and deleted (:meth:`delete_settings`), each by calling the service
    that audits it; their forms derive from :class:`VersionCheckForm`."""

    form = VersionCheckForm
    # Django's confirmation page, carrying the version it showed (``version_read``).
    delete_confirmation_template = "audit/setting_delete_confirmation.html"
    # Django's confirmation of the bulk delete action, carrying each selected row's version as
    # it showed it (``version_read_<id>``).
    delete_selected_confirmation_template = "audit/setting_delete_selected_confirmation.html"
    # The site-wide bulk delete gives way to :meth:`delete_selected`, which checks those.
    actions = ["delete_selected"]

    def save_setting(self, request, obj, form, *, expected_version: int | None) -> None:
        raise NotImplementedError

    def delete_settings(self, request, queryset) -> None:
        raise NotImplementedError

    def delete_lock_first(self, request, ids: list[int]) -> None:
        """Lock what must be locked before the rows ``ids`` are, when they are about to be
        checked and deleted: nothing for most settings. The delete pages lock the rows to
        compare their versions, before the service runs; rows that the service locks ahead of
        them (a team's members) must be locked here, or the page takes them out of order."""

    def save_model(self, request, obj, form, change):
        expected = form.cleaned_data.get("version_read") if change else None
        self.save_setting(request, obj, form, expected_version=expected)

    def save_related(self, request, form, formsets, change):
        # Many-to-many values are stored (and audited) by the service; the form must not set
        # them a second time outside the audit.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        # The delete page's confirmation, checked under the row's lock as a save is: the
        # setting may have been changed since the page showed it. A confirmation without a
        # version (an old page, a script) is refused like a stale one. The row alone is locked,
        # not a related row its ordering joins (see ``VersionCheckForm.clean``).
        self.delete_lock_first(request, [obj.pk])
        stored = (
            self.model._default_manager.select_for_update(of=("self",)).filter(pk=obj.pk).first()
        )
        if stored is not None and int_param(request.POST.get("version_read")) != stored.version:
            raise StaleSettingError(stored)
        self.delete_settings(request, self.model._default_manager.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        self.delete_settings(request, queryset)

    @admin.action(permissions=["delete"], description=_("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request, queryset):
        """Django's bulk delete action, whose confirmation page carries each selected row's
        version as it showed it (``version_read_<id>``): the confirmed delete is refused, and
        nothing deleted, when a row changed or vanished since.

        Every row to delete (the ids the page posts and any other row of ``queryset``) must
        still be stored at the version the page showed. A row without a version (an old page,
        a script) is refused like a stale one. The rows are locked in id order, as the service
        locks them (after what :meth:`delete_lock_first` locks), in the one transaction that
        deletes them. Django's admin log of the deletion is written in that transaction too, so
        a delete that fails leaves no record of one."""
        if not request.POST.get("post"):  # the confirmation page
            return django_delete_selected(self, request, queryset)
        with transaction.atomic(using=router.db_for_write(self.model)):
            posted = {int_param(raw) for raw in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)}
            ids = sorted(
                {pk for pk in posted if pk is not None} | set(queryset.values_list("pk", flat=True))
            )
            self.delete_lock_first(request, ids)
            stored = {
                row.pk: row
                for row in self.model._default_manager.select_for_update()
                .filter(pk__in=ids)
                .order_by("pk")
            }
            changed = [
                stored[pk]
                for pk in ids
                if pk in stored
                and int_param(request.POST.get(f"version_read_{pk}")) != stored[pk].version
            ]
            vanished = [pk for pk in ids if pk not in stored]
            if changed or vanished:
                raise StaleSelectionError(self.model, changed=changed, vanished=vanished)
            return django_delete_selected(self, request, queryset)

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", self.form)
        form = super().get_changelist_form(request, **kwargs)
        first_column = self.list_editable[0] if self.list_editable else None
        return type(form.__name__, (form,), {"stale_error_field": first_column})

    def get_changelist_formset(self, request, **kwargs):
        base = super().get_changelist_formset(request, **kwargs)

        class VersionedRows(base):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                pk_name = self.model._meta.pk.name
                form.fields[pk_name].widget = _HiddenIdWithVersion(form["version_read"])

        return VersionedRows

    # The forms refuse a stale save before anything is written; the service refuses one that
    # became stale after the form was checked (a race the form's lock cannot close). Everything
    # of the request is rolled back by then, so the page is simply opened again, fresh.

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleSettingError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except (StaleSettingError, StaleSelectionError) as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except StaleSettingError as error:
            # Back to the confirmation, which now shows the setting as it is.
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
