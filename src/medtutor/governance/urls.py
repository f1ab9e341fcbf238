from django.urls import path

from medtutor.governance import privacy_views, views

urlpatterns = [
    path("governance/audit/", views.audit_log, name="audit_log"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/models/<slug:slug>/", views.model_card, name="model_card"),
    path("my-data/", privacy_views.my_data, name="my_data"),
    path("my-data/export/", privacy_views.my_data_export, name="my_data_export"),
    path("my-data/delete/", privacy_views.my_data_delete, name="my_data_delete"),
    path("governance/privacy/", privacy_views.privacy_requests, name="privacy_requests"),
]
