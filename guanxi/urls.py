from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.views import set_language
from guanxi.api.api import api

# The administration says it is Guanxi's, in the reader's language, rather than "Django".
admin.site.site_header = _("Guanxi administration")
admin.site.site_title = _("Guanxi CRM")

urlpatterns = [
    path("", include("guanxi.web.urls")),
    path("accounts/", include("guanxi.accounts.urls")),
    path("analytics/", include("guanxi.analytics.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("duplicates/", include("guanxi.dedup.urls")),
    path("imports/", include("guanxi.imports.urls")),
    path("interactions/", include("guanxi.interactions.urls")),
    path("orders/", include("guanxi.orders.urls")),
    path("service/", include("guanxi.service.urls")),
    path("knowledge/", include("guanxi.knowledge.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
]

handler400 = "guanxi.web.views.bad_request"
handler404 = "guanxi.web.views.not_found"
handler500 = "guanxi.web.views.server_error"
