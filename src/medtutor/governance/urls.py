from django.urls import path

from medtutor.governance import privacy_views, views
from medtutor.governance import contest_views, course_views
from medtutor.governance import fairness_views

urlpatterns = [
    path("governance/audit/", views.audit_log, name="audit_log"),
    path("governance/audit/record/", views.audit_record, name="audit_record"),
    path("governance/audit/export/", views.audit_export, name="audit_export"),
    path("contests/", contest_views.my_contests, name="my_contests"),
    path("contests/new/", contest_views.contest_new, name="contest_new"),
    path("governance/contests/", contest_views.contest_queue, name="contest_queue"),
    path("governance/ai-course/", course_views.course_index, name="ai_course"),
    path("governance/ai-course/quiz/", course_views.course_quiz, name="ai_course_quiz"),
    path("governance/ai-course/<slug:slug>/", course_views.course_lesson, name="ai_course_lesson"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/models/<slug:slug>/", views.model_card, name="model_card"),
    path("my-data/", privacy_views.my_data, name="my_data"),
    path("my-data/export/", privacy_views.my_data_export, name="my_data_export"),
    path("my-data/delete/", privacy_views.my_data_delete, name="my_data_delete"),
    path("governance/privacy/", privacy_views.privacy_requests, name="privacy_requests"),
    path("governance/fairness/", fairness_views.fairness_home, name="fairness_home"),
    path("governance/fairness/attributes/", fairness_views.fairness_attributes, name="fairness_attributes"),
    path("governance/fairness/risk-models/", fairness_views.fairness_risk, name="fairness_risk"),
    path("governance/fairness/cohorts/<int:cohort_id>/early-warning/", fairness_views.fairness_early_warning,
         name="fairness_early_warning"),
    path("governance/fairness/cohorts/<int:cohort_id>/grader/", fairness_views.fairness_grader,
         name="fairness_grader"),
    path("governance/fairness/cohorts/<int:cohort_id>/knowledge-tracing/", fairness_views.fairness_knowledge_tracing,
         name="fairness_knowledge_tracing"),
    path("governance/fairness/exams/<int:exam_id>/dif/", fairness_views.fairness_dif, name="fairness_dif"),
]
