"""The words for a text's length limit, said alike wherever text is refused for it.

One ``ngettext`` for every layer (the API's schemas, the services' own checks), so that the
limit reads in the singular or the plural as the number asks, in the active language, and the
catalogue holds it once.
"""

from django.utils.translation import ngettext


def at_most_characters(n: int) -> str:
    """ "At most 1 character." / "At most 200 characters." in the active language."""
    return ngettext("At most %(n)d character.", "At most %(n)d characters.", n) % {"n": n}
