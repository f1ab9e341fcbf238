from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "medtutor.learning"
    label = "learning"
    verbose_name = "Learning"
