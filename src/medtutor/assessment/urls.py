from django.urls import path

from medtutor.assessment import views

urlpatterns = [
    path("exams/", views.exam_list, name="exams"),
    path("exams/new/", views.exam_new, name="exam_new"),
    path("exams/<int:exam_id>/", views.exam_detail, name="exam_detail"),
    path("exams/<int:exam_id>/edit/", views.exam_edit, name="exam_edit"),
    path("exams/<int:exam_id>/items/", views.exam_items, name="exam_items"),
    path("exams/<int:exam_id>/overrides/", views.exam_overrides, name="exam_overrides"),
    path("exams/<int:exam_id>/monitor/", views.exam_monitor, name="exam_monitor"),
    path("exams/<int:exam_id>/analysis/", views.exam_item_analysis, name="exam_item_analysis"),
    path("exams/<int:exam_id>/start/", views.exam_start, name="exam_start"),
    path("attempts/<int:attempt_id>/", views.attempt_resume, name="attempt_resume"),
    path("attempts/<int:attempt_id>/q/<int:position>/", views.attempt_question, name="attempt_question"),
    path("attempts/<int:attempt_id>/submit/", views.attempt_submit, name="attempt_submit"),
    path("attempts/<int:attempt_id>/report/", views.attempt_report, name="attempt_report"),
]
