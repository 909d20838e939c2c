"""The admin site: Django's, with the query string of every page read before the page is.

The filters of an admin list go to the database as they come, and PostgreSQL refuses text
holding a NUL character (``?role__exact=%00``): a server error on every list with a filter,
Django's own lists and those of installed apps (the task results) included. No stored value
holds one, so such a parameter is left out, the page says so, and the list is shown without it.
This is done once, for every page of the site, in the view wrapper Django puts around each.
"""

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from guanxi.core.text import UNSTORABLE_TEXT


def _without_unstorable_parameters(view):
    @wraps(view)
    def checked(request, *args, **kwargs):
        left_out = [
            name
            for name, values in request.GET.lists()
            if UNSTORABLE_TEXT.search(name) or any(UNSTORABLE_TEXT.search(v) for v in values)
        ]
        if not left_out:
            return view(request, *args, **kwargs)
        messages.warning(
            request,
            gettext(
                "Left out of the address, since no stored value holds a NUL character: %(names)s."
            )
            % {"names": ", ".join(UNSTORABLE_TEXT.sub("", name) or "?" for name in left_out)},
        )
        kept = [
            (name, value)
            for name, values in request.GET.lists()
            if name not in left_out
            for value in values
        ]
        return HttpResponseRedirect(request.path + (f"?{urlencode(kept)}" if kept else ""))

    return checked


class GuanxiAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        return super().admin_view(_without_unstorable_parameters(view), cacheable)

    def password_change(self, request, extra_context=None):
        """Someone changing their own password: on record, as an administrator setting it is
        (``accounts.services.user_password_change_recorded``)."""
        from guanxi.accounts.selectors import user_has_live_api_tokens
        from guanxi.accounts.services import user_password_change_recorded
        from guanxi.accounts.views import tell_api_tokens_revoked

        with user_password_change_recorded(actor=request.user, user_id=request.user.pk) as current:
            # Django's form saves the whole row of the user asking: the row read again once
            # locked, so that nothing an administrator changed since the request began (a
            # role) is put back; None for an account deactivated or deleted meanwhile, which
            # gets no new password and is signed out, as on Guanxi's own page.
            if current is not None:
                request.user = current
                had_tokens = user_has_live_api_tokens(current)
                response = super().password_change(request, extra_context)
                # Changed (the page sends one on to "done"): the new password revoked them.
                if had_tokens and request.method == "POST" and response.status_code == 302:
                    tell_api_tokens_revoked(request)
                return response
        logout(request)
        messages.error(
            request, gettext("Your account is no longer active: its password was not changed.")
        )
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))


class GuanxiAdminConfig(AdminConfig):
    """Django's admin app, with :class:`GuanxiAdminSite` as ``admin.site``."""

    default_site = "guanxi.web.admin_site.GuanxiAdminSite"
