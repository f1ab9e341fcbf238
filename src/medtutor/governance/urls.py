from django.urls import path

from medtutor.governance import views

urlpatterns = [
    path("governance/audit/", views.audit_log, name="audit_log"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/models/<slug:slug>/", views.model_card, name="model_card"),
]
