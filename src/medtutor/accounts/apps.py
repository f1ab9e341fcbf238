from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "medtutor.accounts"
    label = "accounts"
    verbose_name = "Accounts"
