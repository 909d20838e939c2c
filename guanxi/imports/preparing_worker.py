"""The worker process side of :mod:`guanxi.imports.preparing`.

A process started with ``spawn`` imports the module of its entry points before anything else,
and Django's models cannot be imported before ``django.setup()``: so this module imports nothing
of Guanxi or Django at the top, and its entry points import what they need once Django is set
up.
"""

import pickle

_state: dict = {}


def start(state: bytes, language: str) -> None:
    """Set Django up, in the language of the import, and keep the mapping and the checking
    context the importing process sent (pickled, since they hold model instances)."""
    import django
    from django.utils import translation

    django.setup()
    translation.activate(language)
    _state["mapping"], _state["context"] = pickle.loads(state)  # noqa: S301 - from the importer


def prepare(batch: list, owners: dict) -> list:
    """:func:`guanxi.imports.preparing.prepare_rows` of a batch, with the batch's owners."""
    from .preparing import prepare_rows

    context = _state["context"]  # a RowContext that asks the database nothing it was sent
    context.owners.update(owners)
    return prepare_rows(batch, _state["mapping"], context, search_text=True)
