from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import User


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Purpose"),
        max_length=100,
        help_text=_("For example “nightly export script”. You can revoke it at any time."),
    )


class ActiveUserFieldsForm(forms.ModelForm):
    """An admin form whose ``active_user_fields`` name people who must still be active: a
    department's manager, a team's lead, a policy's general manager. Escalations leave
    inactive people out, so naming one would send them to nobody.

    The person is read locked, in the admin's transaction: deactivating them locks them too
    and then looks for the roles they hold, so of the two one waits and sees the other's
    change, and neither an inactive lead nor a deactivated one slips through."""

    active_user_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.active_user_fields:
            user = cleaned.get(name)
            if user is None:
                continue
            still_active = (
                User.objects.select_for_update()
                .filter(pk=user.pk)
                .values_list("is_active", flat=True)
                .first()
            )
            if not still_active:
                self.add_error(
                    name,
                    gettext("%(user)s is no longer active; choose someone who is.")
                    % {"user": user.label_with_username},
                )
        return cleaned
