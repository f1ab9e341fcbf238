from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "medtutor.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from medtutor.accounts import signals  # noqa: F401  (connects the audit receivers)
