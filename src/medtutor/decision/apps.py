from django.apps import AppConfig


class DecisionConfig(AppConfig):
    name = "medtutor.decision"
    label = "decision"
    verbose_name = "Clinical decision support lab"
    default_auto_field = "django.db.models.BigAutoField"
