"""The admin site: staff who can move money sign in with a second factor (TOTP, django-otp).

Who: superusers and anyone holding one of ``PAYOPS_OTP_PERMISSIONS`` (completing payouts,
refunding payments; a domain that moves money adds its permission there). When: always, unless
``PAYOPS_ADMIN_OTP_REQUIRED`` is off (its default is ``not DEBUG``). Such a user without a
confirmed TOTP device cannot sign in: an administrator enrols them with
``manage.py totp_enroll <username>`` (it prints the otpauth:// URL for the authenticator app).

A wrong code counts as a failed login for django-axes, like a wrong password, so codes cannot be
guessed faster than passwords.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django_otp import match_token, user_has_device


def otp_required_for(user) -> bool:
    if not getattr(settings, "PAYOPS_ADMIN_OTP_REQUIRED", True):
        return False
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return any(user.has_perm(perm) for perm in settings.PAYOPS_OTP_PERMISSIONS)


class OtpAdminLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Needed by staff who can complete payouts or refund money.",
    )

    def clean(self):
        cleaned = super().clean()  # username and password (django-axes counts failures)
        user = self.get_user()
        if user is not None and otp_required_for(user):
            self._check_code(user, (cleaned.get("otp_token") or "").strip())
        return cleaned

    def _check_code(self, user, token: str) -> None:
        if not user_has_device(user, confirmed=True):
            raise ValidationError(
                "Your account can complete payouts or refund money, so it needs a second "
                "factor: ask an administrator to enrol your authenticator app.",
                code="otp_not_enrolled",
            )
        device = match_token(user, token) if token else None
        if device is None:
            # Counted by django-axes like a wrong password.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            raise ValidationError("Enter the current code from your authenticator app.", code="otp")
        user.otp_device = device  # django_otp keeps it in the session on login


class PayopsAdminSite(admin.AdminSite):
    login_form = OtpAdminLoginForm
    login_template = "admin/payops_login.html"

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        if otp_required_for(request.user):
            return bool(getattr(request.user, "is_verified", lambda: False)())
        return True
