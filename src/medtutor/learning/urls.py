from django.urls import path

from medtutor.learning import views

urlpatterns = [
    path("practice/", views.practice_next, name="practice"),
    path("practice/history/", views.history, name="practice_history"),
    path("practice/<int:item_id>/", views.practice_item, name="practice_item"),
]
