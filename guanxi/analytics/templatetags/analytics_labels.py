"""The translated names of the analytics keys stored on each customer's figures."""

from django import template

from guanxi.analytics import labels

register = template.Library()


@register.filter
def value_tier_label(value) -> str:
    """The tier of a customer's figures (a ``CustomerValue``), by what the blank tier means
    for them: never bought, or bought only in other currencies."""
    return labels.tier_label(
        value.pareto_tier, other_currencies=value.bought_only_in_other_currencies
    )


@register.filter
def segment_label(segment: str) -> str:
    return labels.SEGMENTS.get(segment, segment)


@register.filter
def stage_label(stage: str) -> str:
    return labels.STAGES.get(stage, stage)


@register.filter
def rating_label(rating: str) -> str:
    return labels.RATINGS.get(rating, rating)


@register.filter
def reason_label(reason: str) -> str:
    return labels.REASONS.get(reason, reason)
