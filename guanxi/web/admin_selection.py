"""The rows ticked on an admin list, read before any action runs on them.

Django's admin filters the list on the posted ids (``_selected_action``) before it runs the
chosen action, and an id that is no number, or one no column holds, was a server error there
(a ValueError in the filter, or an OverflowError from SQLite). Every admin of the site mixes
this in, before Django's class, so that such a selection is refused with a message and nothing
is done; a test posts one to every admin list that offers an action.
"""

from django.contrib import messages
from django.contrib.admin import helpers
from django.utils.text import Truncator
from django.utils.translation import gettext

from .params import int_param


class CheckedSelectionMixin:
    """Refuses an admin action whose selection holds anything but row ids (every model of the
    admin site has a numeric id)."""

    def response_action(self, request, queryset):
        unreadable = [
            raw
            for raw in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            if int_param(raw) is None
        ]
        if unreadable:
            # Only the first, shortened: the value is whatever the request carried.
            value = Truncator(unreadable[0]).chars(30)
            self.message_user(
                request,
                gettext(
                    "Nothing was done: the selection held “%(value)s”, which is not the id of "
                    "a row. Select the rows on the list again."
                )
                % {"value": value},
                messages.ERROR,
            )
            # Django takes the administrator back to the list, as when no action was chosen.
            return None
        return super().response_action(request, queryset)
