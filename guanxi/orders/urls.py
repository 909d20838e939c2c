from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/<int:customer_id>/", views.order_create_view, name="create"),
]
