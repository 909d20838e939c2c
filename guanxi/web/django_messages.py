"""Messages of Django itself that its Chinese catalogue does not translate, or translates with
English left in.

Django 5.2's administration heads the table of each app's models with three columns that are
hidden on screen but read out by screen readers; its zh_Hans catalogue has no text for them.
Its refusal of an email address reads "输入一个有效的 Email 地址。", on the public request form
too, where the field itself is called 电子邮件. Our catalogue is searched first
(``LOCALE_PATHS``), so translating them there fills the gap. They are marked here, never used,
only so that ``make messages`` keeps them in the catalogue.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
DJANGO_CORE = (gettext_noop("Enter a valid email address."),)
