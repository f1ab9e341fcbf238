from django.urls import path

from medtutor.content import views

urlpatterns = [
    path("items/", views.bank, name="bank"),
    path("items/new/", views.item_edit, name="item_new"),
    path("items/import/", views.import_items, name="item_import"),
    path("items/export/", views.export_items, name="item_export"),
    path("items/<int:item_id>/", views.item_detail, name="item_detail"),
    path("items/<int:item_id>/edit/", views.item_edit, name="item_edit"),
]
