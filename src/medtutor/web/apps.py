from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "medtutor.web"
    label = "web"
    verbose_name = "Web shell"
