"""Why a row was rejected, kept so that each reader reads it in their own language.

An import's rejected rows are read by whoever may see the job (its starter, an administrator)
on its page and in the error file, in their language rather than the importer's. So a reason is
a :class:`~guanxi.audit.summaries.Summary` — the untranslated message and its parameters, as the
audit rows keep theirs — made where the row is checked (the customer checks the imports share
with the forms and the API give theirs so too), and translated where it is read. A reason given
as text alone is kept as that text, and reads as it was written.

A reason begins with the field it is about (``phone: …``; some Chinese translations put a
full-width colon); the field is named on reading as the file names its column (``手机 (phone):
…``), as :meth:`ColumnMapping.naming_columns` does for the importer's language.
"""

import re
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from guanxi.audit.summaries import Summary, render_summary

if TYPE_CHECKING:
    from .mapping import ColumnMapping

Reason = str | Summary

# The field's key reads the same in every language, and the reason after it is translated on
# its own; the catalogue gives the colon between them (a full-width one in Chinese).
_FIELD_REASON = gettext_noop("%(field)s: %(reason)s")
_SEVERAL = "; "
# The field a rejected row's reason begins with: ``phone: …`` (``phone：…`` in some Chinese).
_REASON_FIELD = re.compile(r"(?P<field>[^\s:：]+)(?:: |：)")


# Several reasons in a row read as a list in the reader's language (a full-width ； in Chinese),
# without a reason's own full stop before the separator: "…号码。; 邮箱 …" ran together.
_FULL_STOP = re.compile(r"[.。]+$")


def several(texts: list[str]) -> str:
    """Reasons in the active language as one text."""
    text = ""
    for reason in texts:
        if text:
            text = _("%(reasons)s; %(reason)s") % {
                "reasons": _FULL_STOP.sub("", text),
                "reason": reason,
            }
        else:
            text = reason
    return text


def reason_field(reason: str) -> str | None:
    """The field a reason's text begins with (``phone`` of ``phone: …``), if any."""
    match = _REASON_FIELD.match(reason)
    return match["field"] if match else None


def named_column(headers: str, field_name: str) -> str:
    """Columns named by their headers, with the field they fill (``手机 (phone)``)."""
    return _("%(column)s (%(field)s)") % {"column": headers, "field": field_name}


def field_reason(field: str, reason: Reason) -> Summary:
    """``reason`` about ``field`` (``phone: …``)."""
    return Summary(_FIELD_REASON, {"field": field, "reason": reason})


def joined(reasons: list[Reason]) -> Reason:
    """Several reasons as one (a row with several unreadable cells)."""
    if len(reasons) == 1:
        return reasons[0]
    message = _SEVERAL.join(f"%(reason{number})s" for number in range(len(reasons)))
    return Summary(message, {f"reason{number}": r for number, r in enumerate(reasons)})


def rendered(reason: Reason) -> str:
    """``reason`` in the active language."""
    return reason.render() if isinstance(reason, Summary) else str(reason)


def reasons_text(reasons: list[Reason], mapping: "ColumnMapping") -> str:
    """The reasons of a row in the active language, each column named as the file names it."""
    return several(mapping.naming_columns([rendered(reason) for reason in reasons]))


def stored_reasons(reasons: list[Reason], mapping: "ColumnMapping") -> list[dict[str, Any]]:
    """The reasons as a rejected row keeps them (``ImportRowError.reasons``): for each, its
    message and parameters, or its text; and the columns of the file its field is read from,
    when the reason is to name them."""
    stored = []
    for reason in reasons:
        text = rendered(reason)
        if not isinstance(reason, Summary):
            stored.append({"text": mapping.naming_columns([text])[0]})
            continue
        item: dict[str, Any] = {"message": reason.message, "params": reason.stored_params()}
        # The field is found in the text (the same key in every language), once, here.
        field = mapping.field_to_name(text)
        if field is not None and mapping.headers_of(field):
            item["field"] = field
            item["columns"] = mapping.headers_of(field)
        stored.append(item)
    return stored


def render_stored_reasons(items: Any, *, fallback: str) -> str:
    """Stored reasons in the active language; ``fallback`` (the text kept beside them, in the
    importer's language) for a row that has none (one kept before they were) or one that no
    longer reads (a message since reworded, a row edited by hand)."""
    if not items or not isinstance(items, list):
        return fallback
    texts = []
    for item in items:
        if not isinstance(item, dict):
            return fallback
        if isinstance(item.get("text"), str):
            texts.append(item["text"])
            continue
        text = render_summary(item.get("message"), item.get("params"), fallback="")
        if not text:
            return fallback
        field, columns = item.get("field"), item.get("columns")
        if isinstance(columns, str) and columns and field and reason_field(text) == field:
            text = named_column(columns, field) + text[len(field) :]
        texts.append(text)
    return several(texts)
