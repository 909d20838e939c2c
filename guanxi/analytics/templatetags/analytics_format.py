"""Number formats of the analytics dashboard."""

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.253 → "25.3 %"; an undefined share (None) → "—"."""
    if value is None:
        return "—"
    return f"{floatformat(value * 100, digits)} %"


@register.filter
def money(value) -> str:
    """Whole units with thousands separators; "—" when there is no figure."""
    if value is None:
        return "—"
    return floatformat(value, "0g")
