from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class BootstrapMixin:
    """Bootstrap classes on every widget (form-control / form-select / form-check-input)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in [field] if field else []:
            if name in self.fields and "is-invalid" not in self.fields[name].widget.attrs.get(
                "class", ""
            ):
                self.fields[name].widget.attrs["class"] += " is-invalid"


class SignInForm(BootstrapMixin, AuthenticationForm):
    username = forms.CharField(label="用户名或手机号", max_length=150)
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "用户名（手机号）或密码不正确。",
        "inactive": "该账号已停用，请联系管理员。",
    }


def apply_errors(form: forms.Form, exc) -> None:
    """Show a service's ValidationError on the form: field errors on their field when the form
    has it, everything else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class UserCreateForm(BootstrapMixin, forms.Form):
    username = forms.CharField(
        label="用户名", max_length=150, help_text="登录用，字母、数字或 _ . @ + -"
    )
    full_name = forms.CharField(label="姓名", max_length=64)
    phone = forms.CharField(
        label="手机号", max_length=20, required=False, help_text="可用手机号登录"
    )
    password = forms.CharField(
        label="初始密码", strip=False, widget=forms.PasswordInput, help_text="至少8位，不能全为数字"
    )


class UserUpdateForm(BootstrapMixin, forms.Form):
    full_name = forms.CharField(label="姓名", max_length=64)
    phone = forms.CharField(label="新手机号", max_length=20, required=False)


class PasswordResetForm(BootstrapMixin, forms.Form):
    password = forms.CharField(label="新密码", strip=False, widget=forms.PasswordInput)


class PasswordChangeForm(BootstrapMixin, forms.Form):
    old_password = forms.CharField(label="原密码", strip=False, widget=forms.PasswordInput)
    new_password = forms.CharField(
        label="新密码", strip=False, widget=forms.PasswordInput, help_text="至少8位，不能全为数字"
    )


class GrantForm(BootstrapMixin, forms.Form):
    org = forms.TypedChoiceField(label="党组织", coerce=int)
    role = forms.ChoiceField(label="角色")

    def __init__(self, *args, orgs=(), **kwargs):
        from apps.accounts.models import Role

        super().__init__(*args, **kwargs)
        self.fields["org"].choices = [("", "请选择")] + [
            (org.pk, "　" * max(org.depth - 1, 0) + org.name) for org in orgs
        ]
        self.fields["role"].choices = [("", "请选择"), *Role.choices]


class UserSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=64)


class AuditFilterForm(BootstrapMixin, forms.Form):
    from apps.core.models import AuditAction

    action = forms.ChoiceField(
        label="操作", required=False, choices=[("", "全部操作"), *AuditAction.choices]
    )
    object_type = forms.CharField(label="对象类型", required=False, max_length=64)
    object_id = forms.CharField(label="对象编号", required=False, max_length=64)
    actor = forms.IntegerField(label="操作人编号", required=False, min_value=1)
    date_from = forms.DateField(
        label="开始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="结束日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "结束日期不能早于开始日期。")
        return data

    def search_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "action": data.get("action") or "",
            "object_type": data.get("object_type") or "",
            "object_id": data.get("object_id") or "",
            "actor_id": data.get("actor"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
