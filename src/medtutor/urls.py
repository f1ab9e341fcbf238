from django.urls import include, path

from medtutor.api import api
from medtutor.web import views as web_views

urlpatterns = [
    path("", include("medtutor.accounts.urls")),
    path("", include("medtutor.web.urls")),
    path("api/v1/", api.urls),
]

handler400 = web_views.bad_request
handler403 = web_views.forbidden
handler404 = web_views.not_found
handler500 = web_views.server_error
