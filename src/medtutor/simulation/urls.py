from django.urls import path

from medtutor.simulation import views

urlpatterns = [
    path("vp/", views.case_list, name="vp_cases"),
    path("vp/new/", views.case_new, name="vp_case_new"),
    path("vp/import/", views.case_import, name="vp_import"),
    path("vp/sessions/", views.session_list, name="vp_sessions"),
    path("vp/cases/<int:vp_case_id>/", views.case_detail, name="vp_case"),
    path("vp/cases/<int:vp_case_id>/edit/", views.case_edit, name="vp_case_edit"),
    path("vp/cases/<int:vp_case_id>/file/", views.case_file, name="vp_case_file"),
    path("vp/cases/<int:vp_case_id>/start/", views.session_start, name="vp_start"),
    path("vp/sessions/<int:vp_session_id>/", views.encounter, name="vp_encounter"),
    path("vp/sessions/<int:vp_session_id>/act/", views.act, name="vp_act"),
    path("vp/sessions/<int:vp_session_id>/diagnosis/", views.submit, name="vp_submit"),
    path("vp/sessions/<int:vp_session_id>/debrief/", views.debrief, name="vp_debrief"),
    path("vp/sessions/<int:vp_session_id>/override/", views.override, name="vp_override"),
    path("vp/sessions/<int:vp_session_id>/checklist/", views.checklist, name="vp_checklist"),
]
