import hashlib
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from guanxi.audit.services import stale_setting_message
from guanxi.audit.setting_admin import AuditedSettingAdmin, VersionCheckForm
from guanxi.web.admin_fields import CheckedFieldsMixin
from guanxi.web.admin_selection import CheckedSelectionMixin
from guanxi.web.params import int_param

from . import services
from .forms import ActiveUserFieldsForm
from .models import ApiToken, Department, Team, User
from .selectors import (
    inactive_users_holding_escalation_roles,
    user_escalation_roles,
    user_has_live_api_tokens,
    user_holdings,
    user_last_agent_department,
)
from .services import POOL, user_deactivate, user_deactivation_refusal


class GuanxiUserChangeForm(UserChangeForm, VersionCheckForm):
    """Django's user form, except that unticking "active" goes through ``user_deactivate``:
    someone who still holds customers, tickets or follow-ups is sent to the page that hands
    them over instead of being deactivated with them; and that it carries the version it was
    read at, refusing a save from a page opened before someone else's change (see
    ``guanxi.audit.setting_admin``)."""

    actor: User | None = None  # set per request by UserAdmin.get_form

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and {"role", "department", "team"} & set(self.changed_data):
            # Locked with the user (above), before the model's own clean locks their team and
            # department: whoever sees their customers may change (see user_out_of_sight_release).
            services.user_customers_lock(user_id=self.instance.pk)
        if self.instance.pk and self.instance.is_active and not cleaned.get("is_active", True):
            try:
                problem = user_deactivation_refusal(
                    actor=self.actor, user=self.instance, hand_over_to=None
                )
            except PermissionDenied as exc:
                problem = str(exc)
            if problem:
                url = reverse("admin:accounts_user_deactivate", args=[self.instance.pk])
                link = format_html(
                    '{} <a href="{}">{}</a>', problem, url, gettext("Deactivate and hand over")
                )
                self.add_error("is_active", link)
        return cleaned


class HandOverForm(forms.Form):
    hand_over_to = forms.ChoiceField(label=_("Hand over to"))

    def __init__(self, *args, leaver: User, **kwargs):
        super().__init__(*args, **kwargs)
        colleagues = User.objects.filter(is_active=True).exclude(pk=leaver.pk)
        self.fields["hand_over_to"].choices = [
            ("", "—"),
            (POOL, _("Unowned pool")),
            *[(str(u.pk), u.label_with_username) for u in colleagues.order_by("username")],
        ]

    def choice(self) -> str | int:
        value = self.cleaned_data["hand_over_to"]
        return value if value == POOL else int(value)


class InactiveHoldingRoleFilter(admin.SimpleListFilter):
    """People who have left but are still a department's manager, a team's lead or a policy's
    general manager, whose escalations reach nobody: deactivated before deactivating refused
    that. ``guanxi check --database default`` warns about them too."""

    title = _("escalation roles")
    parameter_name = "escalation_roles"
    INACTIVE_HOLDING = "inactive_holding"

    def lookups(self, request, model_admin):
        return [(self.INACTIVE_HOLDING, _("Inactive, still holding a role"))]

    def queryset(self, request, queryset):
        if self.value() == self.INACTIVE_HOLDING:
            return queryset.filter(pk__in=inactive_users_holding_escalation_roles().values("pk"))
        return queryset


@admin.register(User)
class UserAdmin(CheckedSelectionMixin, CheckedFieldsMixin, DjangoUserAdmin):
    form = GuanxiUserChangeForm
    list_display = ("username", "display_name", "role", "department", "team", "is_active")
    list_filter = ("role", "department", "team", "is_active", InactiveHoldingRoleFilter)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            _("Guanxi"),
            {"fields": ("display_name", "role", "department", "team", "language", "version_read")},
        ),
    )
    # Kept by signing in and by the account's creation, not edited: a page opened before they
    # signed in would otherwise put their previous sign-in back.
    readonly_fields = ("last_login", "date_joined")

    def get_list_display(self, request):
        # The roles, with the page where each is changed, only for the filter above: it lists
        # a handful of people (one for each role at most), so three queries a row are cheap
        # there and would not be on the whole staff list.
        filtered = request.GET.get(InactiveHoldingRoleFilter.parameter_name)
        if filtered == InactiveHoldingRoleFilter.INACTIVE_HOLDING:
            return (*self.list_display, "escalation_roles_held")
        return self.list_display

    @admin.display(description=_("roles still held"))
    def escalation_roles_held(self, obj):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((role.admin_url, capfirst(role.description)) for role in user_escalation_roles(obj)),
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # a class made for this request, so not shared
        return form

    def save_model(self, request, obj, form, change):
        if change:
            # The page stores every field it shows. Its form refused a page read before
            # someone else's change (VersionCheckForm), comparing the versions with the user's
            # row locked in this transaction: the version the page read is the stored one.
            obj.version += 1
            # What they were before this save, for its audit row once the groups and
            # permissions are saved too (save_related).
            form.access_before = services.user_access_as_stored(user_id=obj.pk)
        if change and {"role", "department", "team"} & set(form.changed_data):
            # Role, department and team decide which customers they, their teammates and their
            # department's managers see: what is no longer in sight goes back to the queue, as
            # when they leave.
            before = services.user_edit_lock(user_id=obj.pk)
            self._save_model(request, obj, form, change)
            services.user_out_of_sight_release(actor=request.user, user=obj, before=before)
            return
        self._save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Role, membership, groups, permissions, staff and superuser status decide which
        # customers they see and what they may do, and an account added can sign in: on
        # record, in the page's transaction (the password never is).
        services.user_change_record(
            actor=request.user, user=form.instance, before=form.access_before if change else None
        )

    def user_change_password(self, request, id, form_url=""):
        # Whoever knows the password set here can sign in as them: on record. Someone else's
        # account is given one active or not (set before it is made active again); only an
        # administrator's own, deactivated as they send this page for themselves, is refused,
        # as on the own-password page (the context manager gives None for it).
        with services.user_password_change_recorded(
            actor=request.user, user_id=int_param(id)
        ) as user:
            inactive = None if user else User.objects.filter(pk=int_param(id)).first()
            if inactive is None:
                # Django's page says itself when there is no such user.
                had_tokens = user is not None and user_has_live_api_tokens(user)
                response = super().user_change_password(request, id, form_url)
                # Set (the page sends one back to the user's page): the new password revoked
                # their tokens, and whoever set it is to tell them their scripts need new ones.
                if had_tokens and request.method == "POST" and response.status_code == 302:
                    self.message_user(
                        request,
                        gettext(
                            "%(user)s’s API tokens were revoked with their old password: "
                            "their scripts need new tokens."
                        )
                        % {"user": user.username},
                        messages.WARNING,
                    )
                return response
        self.message_user(
            request,
            gettext("%(user)s is no longer active: their password was not changed.")
            % {"user": inactive.username},
            messages.ERROR,
        )
        return redirect("admin:accounts_user_change", inactive.pk)

    def delete_model(self, request, obj):
        services.users_delete(actor=request.user, user_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.users_delete(actor=request.user, user_ids=queryset.values_list("pk", flat=True))

    # A record naming someone, added after the confirmation page found none, refuses their
    # deletion (``users_delete``) with everything of the request undone; the confirmation is
    # shown again, now listing the records that keep them, as it lists those found at first.

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.UsersNamedMeanwhileError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # Django's bulk delete, in one transaction with its admin log of the deletion, which it
    # writes first: a refused deletion leaves no record of one.
    actions = ["delete_selected"]

    @admin.action(permissions=["delete"], description=_("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request, queryset):
        if not request.POST.get("post"):  # the confirmation page
            return django_delete_selected(self, request, queryset)
        try:
            with transaction.atomic(using=router.db_for_write(User)):
                return django_delete_selected(self, request, queryset)
        except services.UsersNamedMeanwhileError as error:
            self.message_user(request, str(error), messages.ERROR)
            request.POST = request.POST.copy()
            del request.POST["post"]
            return django_delete_selected(self, request, queryset)

    def _save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data and not obj.is_active:
            # The form found nothing to hand over; the service deactivates and records it.
            obj.is_active = True
            super().save_model(request, obj, form, change)
            try:
                user_deactivate(actor=request.user, user_id=obj.pk)
            except ValidationError as exc:
                # They took something on since the form was checked: the other changes are
                # saved, and the page that hands over what they hold is where to go on.
                messages.error(request, " ".join(exc.messages))
                request.deactivation_refused = True
                return
            obj.is_active = False
            return
        super().save_model(request, obj, form, change)

    def response_change(self, request, obj):
        if getattr(request, "deactivation_refused", False):
            return redirect("admin:accounts_user_deactivate", obj.pk)
        return super().response_change(request, obj)

    def get_urls(self):
        return [
            path(
                "<int:user_id>/deactivate/",
                self.admin_site.admin_view(self.deactivate_view),
                name="accounts_user_deactivate",
            ),
            *super().get_urls(),
        ]

    def deactivate_view(self, request, user_id: int):
        """Deactivate someone who leaves, handing what they hold to a colleague or the pool
        in the same step (``user_deactivate``)."""
        if not (request.user.is_active and request.user.is_admin_role):
            raise PermissionDenied
        leaver = get_object_or_404(User, pk=user_id)
        form = HandOverForm(request.POST or None, leaver=leaver)
        if request.method == "POST" and form.is_valid():
            try:
                user_deactivate(actor=request.user, user_id=leaver.pk, hand_over_to=form.choice())
            except ValidationError as exc:
                for name, texts in exc.message_dict.items():
                    form.add_error("hand_over_to" if name == "hand_over_to" else None, texts)
            else:
                messages.success(
                    request, gettext("%(user)s is deactivated.") % {"user": leaver.label}
                )
                return redirect("admin:accounts_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Deactivate %(user)s") % {"user": leaver.label},
            "leaver": leaver,
            "holdings": user_holdings(leaver),
            "escalation_roles": user_escalation_roles(leaver),
            "last_agent_of": user_last_agent_department(leaver),
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/user/deactivate.html", context)


class DepartmentForm(ActiveUserFieldsForm, VersionCheckForm):
    active_user_fields = ("manager",)


@admin.register(Department)
class DepartmentAdmin(AuditedSettingAdmin):
    """Saved and deleted through the audited services, refused when the page is stale (see
    ``guanxi.audit.setting_admin``)."""

    form = DepartmentForm
    search_fields = ("name",)

    def save_setting(self, request, obj, form, *, expected_version):
        services.department_save(
            actor=request.user, department=obj, expected_version=expected_version
        )

    def delete_settings(self, request, queryset):
        services.departments_delete(
            actor=request.user, department_ids=list(queryset.values_list("pk", flat=True))
        )

    # Someone or a team put in a department after its delete page looked for them, before the
    # deletion locked it, refuses the deletion (``departments_delete``) with everything of the
    # request undone; the page is shown again, now listing them, as it lists those in it from
    # the start. The bulk delete locks the departments before Django looks (``delete_selected``
    # of the base), and so lists them itself.

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.DepartmentsJoinedMeanwhileError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class TeamForm(ActiveUserFieldsForm, VersionCheckForm):
    active_user_fields = ("lead",)

    def clean(self):
        # A change of its sharing may take tickets from its members (``team_save``): they and
        # the customers of those tickets are locked first, with the lead in id order, before
        # the lead and the team are locked below, as the service locks them.
        if (
            self.instance.pk
            and "customer_sharing" in self.changed_data
            and transaction.get_connection(router.db_for_write(Team)).in_atomic_block
        ):
            lead = self.cleaned_data.get("lead")
            services.team_sharing_change_lock(
                team_id=self.instance.pk, also=[lead.pk] if lead is not None else []
            )
        return super().clean()


@admin.register(Team)
class TeamAdmin(AuditedSettingAdmin):
    """Saved and deleted through the audited services, refused when the page is stale.
    Members join and leave a team on their own user page, which records that too."""

    form = TeamForm
    list_display = ("name", "department", "customer_sharing", "lead")
    list_filter = ("department", "customer_sharing")

    def save_setting(self, request, obj, form, *, expected_version):
        services.team_save(actor=request.user, team=obj, expected_version=expected_version)

    def delete_settings(self, request, queryset):
        services.teams_delete(
            actor=request.user, team_ids=list(queryset.values_list("pk", flat=True))
        )

    def delete_lock_first(self, request, ids):
        # The members before the teams, as the deletion locks them: a member's page locks
        # them and then their team, and a delete page holding the team while the deletion
        # waited for a member deadlocked with it.
        services.teams_delete_lock(team_ids=ids)


# Django registers its own admin of groups; ours is the same with the selection of its list
# checked, as every admin of the site has it (guanxi.web.admin_selection), the ids of its
# permissions read as every many-to-many field of the site reads them (guanxi.web.admin_fields),
# and a save from a page opened before someone else's refused (GroupForm).
admin.site.unregister(Group)


def _group_as_stored(group_id: int) -> str:
    """A digest of what a group's page shows and saves: its name and its permissions."""
    name = Group.objects.filter(pk=group_id).values_list("name", flat=True).first()
    permissions = sorted(
        Group.permissions.through.objects.filter(group_id=group_id).values_list(
            "permission_id", flat=True
        )
    )
    return hashlib.sha256(json.dumps([name, permissions]).encode()).hexdigest()


class GroupForm(forms.ModelForm):
    """Django's group form, carrying what the group was when the page was read (``read_as``,
    hidden) and refusing a save from a page opened before someone else's, which would give
    back a permission just taken away or take away one just given.

    Django's table of groups has no version column as Guanxi's settings have, so the page
    compares a digest of the name and permissions it read with those stored. The group's row
    is read locked in the admin's transaction, which saves the permissions too: a second
    administrator's save waits for the first and then sees its change."""

    # Hidden, but the admin still prints its label in the hidden row: the settings' word for
    # what a page was read at, which reads in both languages.
    read_as = forms.CharField(label=_("version"), widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["read_as"] = _group_as_stored(self.instance.pk)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            stored = Group.objects.filter(pk=self.instance.pk)
            if transaction.get_connection(stored.db).in_atomic_block:
                list(stored.select_for_update().values_list("pk"))
            # A form that does not say what it read (an old page, a script) is refused too.
            if cleaned.get("read_as") != _group_as_stored(self.instance.pk):
                self.add_error(None, stale_setting_message(Group))
        return cleaned


@admin.register(Group)
class GroupAdmin(CheckedSelectionMixin, CheckedFieldsMixin, DjangoGroupAdmin):
    form = GroupForm

    def save_model(self, request, obj, form, change):
        # Read before the save, in the page's transaction; the permissions are saved after
        # the group (save_related), and the audit row written then.
        form.access_before = services.group_access_as_stored(group_id=obj.pk)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Everyone in the group holds its permissions: a change of them is on record.
        services.group_change_record(
            actor=request.user, group=form.instance, before=form.access_before
        )

    def delete_model(self, request, obj):
        services.groups_delete(actor=request.user, group_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.groups_delete(actor=request.user, group_ids=queryset.values_list("pk", flat=True))


@admin.register(ApiToken)
class ApiTokenAdmin(CheckedSelectionMixin, admin.ModelAdmin):
    """Tokens are looked at and revoked here, never edited nor deleted: a token's page saved
    every field it showed, so one opened before its owner revoked the token made it work again,
    and nothing recorded who changed it; deleting one stopped it working with no audit row.
    Revoking goes through the audited service, and a revoked token stays on record."""

    list_display = ("name", "user", "hint", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_admin_role

    @admin.action(permissions=["revoke"], description=_("Revoke selected API tokens"))
    def revoke_selected(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        revoked = services.api_tokens_revoke(actor=request.user, token_ids=selected)
        text = ngettext(
            "%(count)d API token revoked.", "%(count)d API tokens revoked.", revoked
        ) % {"count": revoked}
        already = len(selected) - revoked
        if already:
            text += " " + ngettext(
                "%(count)d was revoked already and is left as it was.",
                "%(count)d were revoked already and are left as they were.",
                already,
            ) % {"count": already}
        self.message_user(request, text)
