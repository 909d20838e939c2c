"""The rows ticked on an admin list, read before any action runs on them.

Django's admin filters the list on the posted ids (``_selected_action``) before it runs the
chosen action, and an id that is no number, or one no column holds, was a server error there
(a ValueError in the filter, or an OverflowError from SQLite). Every admin of the site mixes
this in, before Django's class, so that such a selection is refused with a message and nothing
is done; a test posts one to every admin list that offers an action.

The rows of an editable list (``list_editable``) carry their ids the same way, and Django
filters on them in the same manner when the list is saved: an id beyond 64 bits was an
OverflowError from SQLite there. Those ids are read by the same check, and such a save is
refused with a message, saving nothing.
"""

import re

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.utils.text import Truncator
from django.utils.translation import gettext

from .params import int_param


class CheckedSelectionMixin:
    """Refuses an admin action whose selection, or the save of an editable list whose rows,
    hold anything but row ids (every model of the admin site has a numeric id)."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and self.list_editable and "_save" in request.POST:
            # The posted fields Django reads the rows' ids from (``form-0-id``, ...).
            prefix = self.get_changelist_formset(request).get_default_prefix()
            row_id = re.compile(rf"{re.escape(prefix)}-\d+-{re.escape(self.opts.pk.name)}$")
            unreadable = [
                value
                for key, value in request.POST.items()
                if row_id.match(key) and int_param(value) is None
            ]
            if unreadable:
                self.message_user(
                    request,
                    gettext(
                        "Nothing was saved: a row of the list held “%(value)s”, which is not "
                        "the id of a row. Open the list again and make the changes anew."
                    )
                    % {"value": Truncator(unreadable[0]).chars(30)},
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)

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
