from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "medtutor.core"
    label = "core"
    verbose_name = "Core"
