from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "medtutor.integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from medtutor.integrations.xapi import signals  # noqa: F401  (learning events -> xAPI outbox)
        from medtutor.integrations.lti import signals as lti_signals  # noqa: F401  (exam, case scores -> LMS)
