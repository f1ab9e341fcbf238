from django.urls import path  # noqa: F401

urlpatterns: list = []

from medtutor.decision.ddx_views import ddx_urlpatterns  # noqa: E402

urlpatterns += ddx_urlpatterns

from medtutor.decision.risk_views import risk_urlpatterns  # noqa: E402

urlpatterns += risk_urlpatterns

from medtutor.decision.imaging_views import imaging_urlpatterns  # noqa: E402

urlpatterns += imaging_urlpatterns
