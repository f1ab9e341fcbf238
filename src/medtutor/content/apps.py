from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "medtutor.content"
    label = "content"
    verbose_name = "Content"
