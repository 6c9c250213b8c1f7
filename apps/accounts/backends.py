from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from apps.core import crypto


class UsernameOrPhoneBackend(ModelBackend):
    """Sign in with a username or a phone number (matched through the phone's keyed hash)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        from apps.accounts.models import User

        if username is None or password is None:
            return None
        username = username.strip()
        user = User.objects.filter(username=username).first()
        if user is None and username.isdigit():
            user = User.objects.filter(phone_hash=crypto.blind_index("phone", username)).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
