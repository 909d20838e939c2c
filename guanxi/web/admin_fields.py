"""Form fields of the admin site that refuse, beside the field, values Django's own fields pass
on to fail later as a server error.

Django's JSON field reads what Python's JSON reader reads, and that reader accepts NaN and
Infinity (and reads 1e400 as Infinity), which no database stores as JSON, and text no column
holds (a NUL character, a lone surrogate); it gives up with a ValueError Django does not catch
on a number of more than 4,300 digits, and with a RecursionError on nesting too deep. An
emptied box, or JSON's null, became None, which a column that cannot be null refuses. Every
admin that edits a JSON column mixes in :class:`CheckedFieldsMixin`; a test checks each form
of the site.

Its many-to-many choices (a user's groups and permissions, a group's permissions, an agent's
skills) ask the database for the ids posted; on SQLite an id beyond 64 bits raised an
OverflowError there, which Django does not catch either. The mixin gives them a field that
reads ids as the pages do (:func:`guanxi.web.params.int_param`) before asking.
"""

import json
import math
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.fields import InvalidJSONInput
from django.utils.translation import gettext_lazy as _

from guanxi.core.text import UNSTORABLE_TEXT

from .params import int_param


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _storable(value: Any) -> bool:
    """Whether every number of ``value`` is finite and every text (keys too) storable. Walks
    iteratively: the reader has checked the depth already."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, str) and UNSTORABLE_TEXT.search(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


class CheckedJSONField(forms.JSONField):
    """Django's JSON form field, refusing JSON no database stores, and giving ``empty()`` (the
    model field's default) for an emptied box when there is one. Unless ``nullable``, JSON's
    null is taken as an emptied box: it was stored as a null, which the column refuses."""

    default_error_messages = {
        "unstorable": _(
            "Enter JSON that can be stored: no NaN or Infinity, no number of more than 4,300 "
            "digits, no NUL character."
        ),
    }

    def __init__(self, *, empty=None, nullable=True, **kwargs):
        self.empty = empty
        self.nullable = nullable
        super().__init__(**kwargs)

    def _problem(self, text: str) -> str | None:
        """The error code for ``text``, or None when Django's field may read it (its own
        message covers what is no JSON at all)."""
        try:
            value = json.loads(text, cls=self.decoder, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            return None
        except RecursionError:
            return "invalid"
        except ValueError:  # NaN, Infinity, a number of more than 4,300 digits
            return "unstorable"
        return None if _storable(value) else "unstorable"

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values and self.empty is not None:
            return self.empty()
        if isinstance(value, str) and (code := self._problem(value)):
            raise ValidationError(self.error_messages[code], code=code)
        converted = super().to_python(value)
        if converted is None and not self.nullable:
            if self.empty is not None:
                return self.empty()
            raise ValidationError(self.error_messages["required"], code="required")
        return converted

    def bound_data(self, data, initial):
        # The form shown again with the error shows the text as it was typed.
        if not self.disabled and isinstance(data, str) and self._problem(data):
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)


class CheckedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's many-to-many choice field, refusing what is no id of a row as Django refuses
    "abc" ("“…” is not a valid value.") before the database is asked."""

    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if int_param(str(pk)) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super()._check_values(value)


class CheckedFieldsMixin:
    """Gives an admin's form the checked fields of this module (before Django's ModelAdmin in
    the bases)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", CheckedJSONField)
            kwargs.setdefault("nullable", db_field.null)
            # Only where the box may be left empty: a required one says so.
            if db_field.blank and not db_field.null and db_field.has_default():
                kwargs.setdefault("empty", db_field.get_default)
        elif isinstance(db_field, models.ManyToManyField):
            kwargs.setdefault("form_class", CheckedMultipleChoiceField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
