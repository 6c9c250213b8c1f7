from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.CharField(label="用户名或手机号", max_length=150)
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "用户名（手机号）或密码不正确。",
        "inactive": "该账号已停用，请联系管理员。",
    }
