from django import forms
from django.utils.translation import gettext_lazy as _


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Purpose"),
        max_length=100,
        help_text=_("For example “nightly export script”. You can revoke it at any time."),
    )
