"""The interface's names for the keys the pure ``value`` modules return.

Those modules keep English labels of their own for use without Django; these are the same
labels marked for translation. A test checks that both name the same keys.
"""

from django.utils.translation import gettext_lazy as _

PARETO_TIERS = {"gold": _("Gold"), "iron": _("Iron"), "lead": _("Lead")}
# Customers who never bought and cost nothing to serve are left out of the pyramid; those who
# never bought but cost something are lead (see ``value.tiers.pareto_tiers``).
UNTIERED = _("Not tiered (never bought, no cost to serve)")
# The same blank tier, for a customer who did buy, but only in other currencies than the
# settings': the figures hold none of their purchases (they do not convert currencies), so the
# pyramid does not rank them either, and "never bought" would be untrue (as the RFM segment
# "Bought only in other currencies" says). Whether serving them cost something goes unsaid, to
# keep the name as short as the one above: the tier chart has room for about that much
# (``charts.centred_bars``), and its caption states the rule.
UNTIERED_OTHER_CURRENCIES = _("Not tiered (bought only in other currencies)")
# The first, over a column of the tier movement drawing, where the full name would run into
# its neighbours (the second is named there by the currencies it is not, "Non-CNY").
UNTIERED_SHORT = _("Not tiered")
# A tier change with no "from" is a customer tiered for the first time.
NEW_TO_TIERS = _("New or not tiered")
STAGES = {
    "suspect": _("Suspect"),
    "expectation": _("Expectation"),
    "first_purchase": _("First purchase"),
    "repeat_purchase": _("Repeat purchase"),
    "advocate": _("Advocate"),
}
REASONS = {
    "": _("No warning"),
    "p_alive_low": _("Probably no longer active"),
    "overdue": _("Next purchase overdue"),
    "p_alive_low+overdue": _("Probably no longer active, and next purchase overdue"),
    "no_repeat": _("No second purchase in the usual time"),
    "p_alive_low+no_repeat": _(
        "Probably no longer active, and no second purchase in the usual time"
    ),
    "complaints": _("Open or repeated complaints"),
    "poor_survey": _("Poor satisfaction after service"),
    "complaints+poor_survey": _("Open or repeated complaints, and poor satisfaction after service"),
}
SEGMENTS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalist": _("Potential loyalist"),
    "new_customer": _("New customer"),
    "promising": _("Promising"),
    "need_attention": _("Needs attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cannot_lose": _("Cannot lose them"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
    "none": _("No purchases"),
    "other_currencies": _("Bought only in other currencies"),
}
RATINGS = {
    "A": _("A (pays reliably)"),
    "B": _("B (minor delays)"),
    "C": _("C (frequent or long delays)"),
    "D": _("D (high risk)"),
    "unrated": _("Unrated (no invoices yet)"),
}
QUADRANTS = {
    "keep": _("Keep (high current, high potential)"),
    "invest": _("Invest (low current, high potential)"),
    "maintain": _("Maintain (high current, low potential)"),
    "minimise": _("Minimise (low current, low potential)"),
}


def tier_label(tier: str, *, other_currencies: bool = False):
    """The name of a value tier, the blank one (not tiered) included: for a customer who
    bought only in other currencies (``other_currencies``), the blank tier says so instead of
    "never bought"."""
    if tier in PARETO_TIERS:
        return PARETO_TIERS[tier]
    return UNTIERED_OTHER_CURRENCIES if other_currencies else UNTIERED
