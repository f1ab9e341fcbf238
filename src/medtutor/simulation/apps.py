from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "medtutor.simulation"
    label = "simulation"
    verbose_name = "Virtual patients"
    default_auto_field = "django.db.models.BigAutoField"
