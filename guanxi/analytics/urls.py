from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:chart>/", views.chart_export, name="export"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:follow_up_id>/done/", views.follow_up_close, name="follow_up_done"),
    path("blacklist/<int:customer_id>/add/", views.blacklist_put, name="blacklist_add"),
    path("blacklist/<int:customer_id>/remove/", views.blacklist_take_off, name="blacklist_remove"),
]
