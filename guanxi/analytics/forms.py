from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team


class DashboardFilterForm(forms.Form):
    """The filters above the dashboard, applied to every chart and sent along with each CSV
    download (all optional; an invalid value is dropped rather than refused)."""

    team = forms.ModelChoiceField(
        label=_("Team"),
        required=False,
        queryset=Team.objects.select_related("department"),
        empty_label=_("Any"),
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)

    def selector_filters(self) -> dict[str, Any]:
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        filters: dict[str, Any] = {}
        if data.get("team"):
            filters["team"] = data["team"].pk
        for name in ("region", "industry"):
            if data.get(name):
                filters[name] = data[name]
        return filters
