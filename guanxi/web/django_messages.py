"""Messages of Django itself that its Chinese catalogue does not translate yet.

Django 5.2's administration heads the table of each app's models with three columns that are
hidden on screen but read out by screen readers; its zh_Hans catalogue has no text for them.
Our catalogue is searched first (``LOCALE_PATHS``), so translating them there fills the gap.
They are marked here, never used, only so that ``make messages`` keeps them in the catalogue.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
