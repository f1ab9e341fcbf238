from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "medtutor.analytics"
    label = "analytics"
    verbose_name = "Analytics"
