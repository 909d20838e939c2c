"""Free text on a page as its reader may see it: ``{{ note|as_seen_by:request.user }}``."""

from django import template

from guanxi.core.masking import text_as_seen_by

register = template.Library()


@register.filter(is_safe=False)
def as_seen_by(text, user) -> str:
    # Plain text in, plain text out: the page escapes the result as it would the text (the
    # masking adds no markup, and a text already marked safe is not one a customer wrote).
    return text_as_seen_by(user, str(text)) if text else text
