from django.urls import path

from medtutor.integrations.anki import views as anki_views
from medtutor.integrations.lti import admin_views as lti_admin_views
from medtutor.integrations.lti import views as lti_views
from medtutor.integrations.qti import views as qti_views

urlpatterns = [
    path("anki/", anki_views.anki, name="anki"),
    path("anki/export.apkg", anki_views.anki_export, name="anki_export"),
    path("exams/<int:exam_id>/qti.zip", qti_views.exam_qti, name="exam_qti"),
    path("lti/jwks.json", lti_views.lti_jwks, name="lti_jwks"),
    path("lti/login", lti_views.lti_login, name="lti_login"),
    path("lti/launch", lti_views.lti_launch, name="lti_launch"),
    path("lti/deep-link/", lti_views.lti_deep_link, name="lti_deep_link"),
    path("lti/platforms/", lti_admin_views.lti_platforms, name="lti_platforms"),
]
