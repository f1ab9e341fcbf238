from django.urls import path

from medtutor.accounts import sso, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("sso/start/", sso.sso_start, name="oidc_authentication_init"),
    path("sso/callback/", sso.sso_callback, name="oidc_authentication_callback"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_new, name="person_new"),
    path("people/<int:user_id>/", views.person_edit, name="person_edit"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/<int:cohort_id>/", views.cohort_detail, name="cohort_detail"),
]
