from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "guanxi.accounts"
    label = "accounts"
