from django.urls import path

from medtutor.integrations.anki import views as anki_views
from medtutor.integrations.qti import views as qti_views

urlpatterns = [
    path("anki/", anki_views.anki, name="anki"),
    path("anki/export.apkg", anki_views.anki_export, name="anki_export"),
    path("exams/<int:exam_id>/qti.zip", qti_views.exam_qti, name="exam_qti"),
]
