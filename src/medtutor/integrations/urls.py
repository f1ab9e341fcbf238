from django.urls import path

from medtutor.integrations.anki import views as anki_views

urlpatterns = [
    path("anki/", anki_views.anki, name="anki"),
    path("anki/export.apkg", anki_views.anki_export, name="anki_export"),
]
