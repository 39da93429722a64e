"""HTML pages of the accounts app (mounted at the root): sign-up, profile and Django's auth
views with this site's templates under /accounts/; the data export and the account's deletion
under /account/."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts import views
from accounts.limits import password_reset_limited

app_name = "accounts"

_account_pages = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/token/", views.token_create, name="token_create"),
    path("profile/token/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("profile/token/revoke/", views.tokens_revoke_all, name="tokens_revoke_all"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            success_url=reverse_lazy("accounts:password_change_done")
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        password_reset_limited(  # per address and per e-mail typed (accounts/limits.py)
            auth_views.PasswordResetView.as_view(
                email_template_name="registration/password_reset_email.txt",
                subject_template_name="registration/password_reset_subject.txt",
                success_url=reverse_lazy("accounts:password_reset_done"),
            )
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("accounts:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("accounts/", include(_account_pages)),
    path("account/export/", views.export, name="export"),
    path("account/delete/", views.account_delete, name="account_delete"),
]
