from django.urls import path

from medtutor.analytics import cohort_views, curriculum_views, outbreak_views
from medtutor.analytics import early_warning_views as ew_views

urlpatterns = [
    path("analytics/outbreak/", outbreak_views.outbreak_lab, name="outbreak_lab"),
    path("analytics/curriculum/", curriculum_views.curriculum_page, name="curriculum_analytics"),
    path("analytics/curriculum/export.csv", curriculum_views.curriculum_export, name="curriculum_export"),
    path("analytics/cohorts/", cohort_views.cohort_analytics, name="cohort_analytics"),
    path("analytics/cohorts/<int:cohort_id>/", cohort_views.cohort_dashboard, name="cohort_dashboard"),
    path("analytics/cohorts/<int:cohort_id>/export.csv", cohort_views.cohort_export, name="cohort_export"),
    path("analytics/cohorts/<int:cohort_id>/students/", cohort_views.cohort_students, name="cohort_students"),
    path("analytics/cohorts/<int:cohort_id>/students/<int:student_id>/", cohort_views.cohort_student,
         name="cohort_student"),
    path("analytics/early-warning/", ew_views.early_warning_home, name="early_warning_home"),
    path("analytics/cohorts/<int:cohort_id>/early-warning/", ew_views.early_warning_cohort,
         name="early_warning_cohort"),
    path("analytics/cohorts/<int:cohort_id>/early-warning/run/", ew_views.early_warning_run, name="early_warning_run"),
    path("analytics/cohorts/<int:cohort_id>/early-warning/decide/", ew_views.early_warning_decide,
         name="early_warning_decide"),
    path("analytics/cohorts/<int:cohort_id>/early-warning/outcomes/", ew_views.early_warning_outcomes,
         name="early_warning_outcomes"),
    path("analytics/my-early-warning/", ew_views.my_early_warning, name="my_early_warning"),
]
