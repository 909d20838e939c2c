"""A text column's length limit, read from its model, and the words for it, said alike
wherever text is refused for it.

One ``ngettext`` for every layer (the API's schemas, the services' own checks), so that the
limit reads in the singular or the plural as the number asks, in the active language, and the
catalogue holds it once.
"""

from django.db.models import Model
from django.utils.translation import ngettext


def column_length(model: type[Model], field: str) -> int:
    """The most characters the text column ``field`` of ``model`` holds."""
    max_length = model._meta.get_field(field).max_length
    if max_length is None:
        raise TypeError(f"{model.__name__}.{field} has no max_length")
    return max_length


def at_most_characters(n: int) -> str:
    """ "At most 1 character." / "At most 200 characters." in the active language."""
    return ngettext("At most %(n)d character.", "At most %(n)d characters.", n) % {"n": n}
