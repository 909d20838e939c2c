from django.urls import path

from . import views

app_name = "interactions"
urlpatterns = [
    path("", views.interaction_list, name="list"),
    path("log/<int:customer_id>/", views.interaction_log_view, name="log"),
]
