from django.urls import include, path

from . import views

app_name = "service"

urlpatterns = [
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="detail"),
    path(
        "tickets/<int:ticket_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("customers/<int:customer_id>/new/", views.ticket_new, name="new"),
    path("notifications/", views.notifications, name="notifications"),
    path("reports/", include("guanxi.service.report_urls")),
    path("inbound/", include("guanxi.service.inbound_urls")),
    # For customers: no sign-in; the status page and the survey open by signed links only.
    path("help/", views.public_request, name="public_request"),
    path("status/<str:token>/", views.public_status, name="public_status"),
    path("survey/<str:token>/", views.public_survey, name="public_survey"),
]
