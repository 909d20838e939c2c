from django.urls import path

from . import report_views

urlpatterns = [
    path("", report_views.service_reports, name="reports"),
    path("export/<str:report>.csv", report_views.service_report_export, name="report_export"),
]
