from django.urls import path

from medtutor.assessment import break_views, cat_views, grading_views, views

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
    path("attempts/<int:attempt_id>/pause/", break_views.attempt_pause, name="attempt_pause"),
    path("attempts/<int:attempt_id>/pause/end/", break_views.attempt_unpause, name="attempt_unpause"),
    path("attempts/<int:attempt_id>/report/", views.attempt_report, name="attempt_report"),
    # adaptive exams (CAT), calibration and standard setting: cat_views.py
    path("exams/<int:exam_id>/adaptive/", cat_views.adaptive_settings, name="exam_adaptive"),
    path("exams/<int:exam_id>/calibrate/", cat_views.exam_calibrate, name="exam_calibrate"),
    path("exams/<int:exam_id>/standards/", cat_views.exam_standards, name="exam_standards"),
    path("attempts/<int:attempt_id>/adaptive/", cat_views.adaptive_question, name="adaptive_question"),
    path("attempts/<int:attempt_id>/adaptive/report/", cat_views.adaptive_report, name="adaptive_report"),
    # short-answer grading: grading_views.py
    path("grading/", grading_views.grading_queue, name="grading_queue"),
    path("grading/items/new/", grading_views.grading_item_new, name="grading_item_new"),
    path("grading/items/<int:item_id>/rubric/", grading_views.grading_rubric, name="grading_rubric"),
]
