"""Forms of the accounts pages; the writes happen in ``accounts.services`` and
``accounts.deletion``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation


class SignUpForm(forms.Form):
    """Username, e-mail and a password typed twice."""

    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label="E-mail",
        help_text="Required. Only used to reset your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        return cleaned

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Attach the service's field errors (``password`` goes to ``password1``)."""
        for field, messages in errors.items():
            target = "password1" if field == "password" else field
            for message in messages:
                self.add_error(target if target in self.fields else None, message)


class AccountDeleteForm(forms.Form):
    """Deleting an account needs the account's password."""

    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password",
    )

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password; nothing was deleted.")
        return password
