from django.urls import include, path

from medtutor.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("media/<path:path>", views.media, name="media"),
    path("governance/audit/", views.audit_log, name="audit_log"),
    path("", include("medtutor.content.urls")),
    path("", include("medtutor.learning.urls")),
]
