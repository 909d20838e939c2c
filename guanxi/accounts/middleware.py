from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    """Speak the language a signed-in user last chose when this browser has not chosen one.

    Django's ``LocaleMiddleware`` (which runs before the user is known) picks the language
    from the language cookie, else from the browser's Accept-Language; so someone who chose
    Chinese and signs in on a new browser would get English. The cookie still wins: it is the
    choice made on this browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and user is not None
            and user.is_authenticated
            and user.language
        ):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
