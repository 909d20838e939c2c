"""Audit summaries that read in each reader's language.

A summary that is a sentence ("3 customers exported") is written once but read by people of
either language, so the row keeps the untranslated message and its parameters beside the text
rendered for the writer: the history and the admin translate the message for whoever reads it,
and fall back to the stored text for rows without one (older rows, names and numbers, which
read the same in any language) or whose message no longer formats (a row edited by hand, a
message since reworded).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation.trans_real import CONTEXT_SEPARATOR


@dataclass(frozen=True)
class Summary:
    """A translatable audit summary: ``message`` is the English msgid (mark it with
    ``gettext_noop`` so it is in the catalogue) and ``params`` its ``%`` parameters, plain JSON
    values (numbers and text such as a name or a file name, which stay as written), or a
    ``Summary`` for a part that is itself a sentence, or :class:`Choices` for a list of choices."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """The summary in the active language (in English should its translation not format,
        so that the row never lacks its text)."""
        text = render_summary(self.message, self.stored_params(), fallback="")
        if not text:
            with translation.override(None):
                text = _formatted(self.message, self.stored_params())
        return text

    def stored_params(self) -> dict[str, Any]:
        """``params`` as the row stores them (a ``Summary`` as a nested message)."""
        return {
            name: {"message": value.message, "params": value.stored_params()}
            if isinstance(value, Summary)
            else {"choices": [list(pair) for pair in value.pairs]}
            if isinstance(value, Choices)
            else value
            for name, value in self.params.items()
        }


@dataclass(frozen=True)
class Choices:
    """The choices of a field as a parameter ("one of Potential, Intent, …"): kept as each
    choice's code and untranslated label, so that the labels read in the reader's language,
    each with its code where the label is not the code itself (``潜在客户 (potential)``)."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, choices: Any) -> "Choices":
        """The choices of a ``TextChoices``, their labels as the catalogue's messages."""
        with translation.override(None):  # no language: a label is its untranslated message
            return cls(tuple((str(code), _message_of(label)) for code, label in choices.choices))

    def render(self) -> str:
        """The choices in the active language."""
        return _choices_text([list(pair) for pair in self.pairs])


def _message_of(label: Any) -> str:
    """A label's untranslated message as the catalogue keys it: with its context, for a label
    given one (``pgettext_lazy("relationship level", "Partner")``), which its text alone loses.
    In Chinese a partnership (伙伴关系) and a partner customer (合作伙伴) are both "Partner"."""
    if isinstance(label, Promise):
        func, args, *_rest = label.__reduce__()[1]
        if func is translation.pgettext:
            context, message = args
            return f"{context}{CONTEXT_SEPARATOR}{message}"
    return str(label)


def _choices_text(pairs: Any) -> str:
    # None at all reads as a sentence cut short ("is not one of "): the text as written instead.
    if (
        not isinstance(pairs, list)
        or not pairs
        or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in pairs
        )
    ):
        raise TypeError("choices are no list of codes and labels")
    texts = []
    for code, message in pairs:
        label = gettext(message) if message else code
        if CONTEXT_SEPARATOR in label:
            # A message with its context that the catalogue has no translation of (English):
            # the message itself, as pgettext gives it.
            label = label.split(CONTEXT_SEPARATOR, 1)[1]
        texts.append(label if label.casefold() == code.casefold() else f"{label} ({code})")
    return ", ".join(texts)


def prefixed(prefix: str, summary: "str | Summary") -> "str | Summary":
    """``summary`` after ``prefix`` (a ticket's number), which reads the same in any language."""
    if isinstance(summary, Summary):
        # No message of the catalogue: gettext gives it back as it is, the parts are translated.
        return Summary("%(prefix)s %(summary)s", {"prefix": prefix, "summary": summary})
    return f"{prefix} {summary}"


def render_summary(message: Any, params: Any, *, fallback: str) -> str:
    """``message`` translated into the active language and formatted with ``params`` (as
    :meth:`Summary.stored_params` gives them); ``fallback`` when there is no message or it does
    not format with them."""
    if not message or not isinstance(message, str):
        return fallback
    try:
        text = _formatted(message, params)
        # A lone surrogate (a JSON "\udcff", which SQLite stores) is no UTF-8: a page or
        # list holding it could not be sent. UnicodeEncodeError is a ValueError.
        text.encode("utf-8")
    except (TypeError, ValueError, KeyError, OverflowError, RecursionError):
        # OverflowError: a number no conversion takes (%c beyond Unicode, an infinite %d).
        return fallback
    return text


def _formatted(message: str, params: Any) -> str:
    if not isinstance(params, Mapping):
        raise TypeError("summary parameters are no mapping")
    values = {
        # A nested message is a part of the sentence that is a sentence of its own.
        name: _formatted(value["message"], value.get("params", {}))
        if isinstance(value, Mapping) and isinstance(value.get("message"), str)
        # A list of choices, whose labels are read in the reader's language.
        else _choices_text(value["choices"])
        if isinstance(value, Mapping) and "choices" in value
        else value
        for name, value in params.items()
    }
    for value in values.values():
        if isinstance(value, (Mapping, list)):  # only numbers and text are written
            raise TypeError("a summary parameter is no number or text")
    return gettext(message) % values
