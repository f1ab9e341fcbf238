from django.urls import path

from medtutor.analytics import cohort_views, outbreak_views

urlpatterns = [
    path("analytics/outbreak/", outbreak_views.outbreak_lab, name="outbreak_lab"),
    path("analytics/cohorts/", cohort_views.cohort_analytics, name="cohort_analytics"),
    path("analytics/cohorts/<int:cohort_id>/", cohort_views.cohort_dashboard, name="cohort_dashboard"),
    path("analytics/cohorts/<int:cohort_id>/export.csv", cohort_views.cohort_export, name="cohort_export"),
    path("analytics/cohorts/<int:cohort_id>/students/", cohort_views.cohort_students, name="cohort_students"),
    path("analytics/cohorts/<int:cohort_id>/students/<int:student_id>/", cohort_views.cohort_student,
         name="cohort_student"),
]
