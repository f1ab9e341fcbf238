from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "medtutor.governance"
    label = "governance"
    verbose_name = "Governance"
