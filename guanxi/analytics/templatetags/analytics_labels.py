"""The translated names of the analytics keys stored on each customer's figures."""

from django import template

from guanxi.analytics import labels

register = template.Library()


@register.filter
def tier_label(tier: str) -> str:
    return labels.tier_label(tier)


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
