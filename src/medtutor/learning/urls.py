from django.urls import path

from medtutor.learning import card_views, plan_views, views

urlpatterns = [
    path("practice/", views.practice_next, name="practice"),
    path("practice/history/", views.history, name="practice_history"),
    path("practice/<int:item_id>/", views.practice_item, name="practice_item"),
    path("cards/", card_views.deck, name="cards"),
    path("cards/review/", card_views.review, name="cards_review"),
    path("cards/undo/", card_views.undo, name="cards_undo"),
    path("cards/plan/", card_views.plan, name="cards_plan"),
    path("cards/memory/", card_views.memory, name="cards_memory"),
    path("plan/", plan_views.plan_page, name="plan"),
    path("plan/calendar.ics", plan_views.plan_calendar, name="plan_calendar"),
    path("cards/from-answer/", card_views.from_answer, name="cards_from_answer"),
]
