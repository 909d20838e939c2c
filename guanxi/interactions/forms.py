from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Interaction


class InteractionFilterForm(forms.Form):
    """Filters above the list of recent contacts."""

    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any")), *Interaction.Channel.choices]
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[("", _("Any")), *Interaction.Direction.choices],
    )
    mine = forms.BooleanField(label=_("Only mine"), required=False)

    def selector_filters(self, user) -> dict:
        if not self.is_valid():
            return {}
        filters = {
            k: self.cleaned_data[k] for k in ("channel", "direction") if self.cleaned_data[k]
        }
        if self.cleaned_data["mine"]:
            filters["staff_id"] = user.pk
        return filters


class InteractionForm(forms.Form):
    """Logging a contact from the customer page. Checked again by ``interaction_log``."""

    channel = forms.ChoiceField(label=_("Channel"))
    direction = forms.ChoiceField(label=_("Direction"))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = Interaction.Channel.choices
        self.fields["direction"].choices = Interaction.Direction.choices
