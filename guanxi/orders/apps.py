from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "guanxi.orders"
    label = "orders"
