from __future__ import annotations

from django import forms


class PreferencesForm(forms.Form):
    email = forms.BooleanField(label="邮件", required=False)
    sms = forms.BooleanField(
        label="短信", required=False, help_text="22:00–7:00 不发短信，顺延到早上发送。"
    )
