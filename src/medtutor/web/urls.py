from django.urls import include, path

from medtutor.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("media/<path:path>", views.media, name="media"),
    path("", include("medtutor.content.urls")),
    path("", include("medtutor.learning.urls")),
    path("", include("medtutor.governance.urls")),
    path("", include("medtutor.assessment.urls")),
    path("", include("medtutor.simulation.urls")),
    path("", include("medtutor.decision.urls")),
    path("", include("medtutor.integrations.urls")),
    path("", include("medtutor.analytics.urls")),
]
