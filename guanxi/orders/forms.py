from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Order


class OrderFilterForm(forms.Form):
    """Filters above the order list."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *Order.Status.choices]
    )
    customer_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )
    ordered_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ordered_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def selector_filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


class OrderForm(forms.Form):
    """Booking an order from the customer page. Checked again by ``order_create``."""

    ordered_on = forms.DateField(
        label=_("Order date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    cost = forms.DecimalField(
        label=_("Cost"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    channel = forms.ChoiceField(label=_("Channel"), choices=Order.Channel.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Order.Status.choices)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
