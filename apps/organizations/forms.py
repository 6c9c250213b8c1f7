"""Forms of the organization pages. They validate shape; the services enforce the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.core.periods import local_today
from apps.organizations.models import Org, OrgCategory, OrgType, Position, SetupForm
from apps.organizations.rules import allowed_parent_types

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        elif not isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-control")


def apply_service_errors(
    form: forms.Form, exc: ValidationError, rename: dict | None = None
) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one
    (`rename` maps a service's field name to the form's)."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            field = rename.get(field, field)
            for error in errors:
                for message in error.messages:
                    form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class JointUnitsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class OrgForm(forms.Form):
    name = forms.CharField(label="名称", max_length=120)
    short_name = forms.CharField(label="简称", max_length=60, required=False)
    code = forms.CharField(label="组织代码", max_length=40)
    org_type = forms.ChoiceField(label="组织类型", choices=OrgType.choices)
    category = forms.ChoiceField(label="组织类别", choices=OrgCategory.choices)
    setup_form = forms.ChoiceField(label="组建方式", choices=SetupForm.choices)
    joint_units = JointUnitsField(
        label="联建单位", required=False, help_text="联合党支部覆盖的单位，每行一个，一般不超过5个"
    )
    founded_on = forms.DateField(label="成立日期", required=False, widget=DATE)
    address = forms.CharField(label="地址", max_length=200, required=False)
    contact_name = forms.CharField(label="联系人", max_length=40, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=40, required=False)

    def __init__(self, *args, parent: Org | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if parent is not None:
            allowed = [t for t in OrgType if parent.org_type in allowed_parent_types(t)]
            self.fields["org_type"].choices = [(t.value, t.label) for t in allowed]
        _style(self)

    @classmethod
    def initial_from(cls, org: Org) -> dict:
        return {name: getattr(org, name) for name in cls.base_fields}


class TargetForm(forms.Form):
    """Move / merge: the target is picked by searching within the user's scope."""

    target = forms.IntegerField(
        label="目标组织",
        widget=forms.HiddenInput,
        error_messages={
            "required": "请先搜索并选择目标组织。",
        },
    )
    on = forms.DateField(label="生效日期", widget=DATE, initial=local_today)
    reason = forms.CharField(label="原因", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class AbolishForm(forms.Form):
    on = forms.DateField(label="撤销日期", widget=DATE, initial=local_today)
    reason = forms.CharField(label="撤销原因（上级批准文件等）", max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class PositionAssignForm(forms.Form):
    member = forms.ModelChoiceField(label="党员", queryset=None, empty_label="请选择")
    position = forms.ChoiceField(label="职务", choices=Position.choices)
    started_on = forms.DateField(label="任职日期", widget=DATE, initial=local_today)

    def __init__(self, *args, org: Org, **kwargs):
        from apps.members.models import Member, MemberStatus

        super().__init__(*args, **kwargs)
        if org.org_type == OrgType.PARTY_GROUP:
            members = Member.objects.filter(party_group=org)
            self.fields["position"].choices = [(Position.GROUP_LEADER, Position.GROUP_LEADER.label)]
        else:
            members = Member.objects.filter(branch__path__startswith=org.path)
            self.fields["position"].choices = [
                (p.value, p.label) for p in Position if p != Position.GROUP_LEADER
            ]
        first = members.filter(status=MemberStatus.FULL).order_by("name", "id").values("pk")[:500]
        self.fields["member"].queryset = Member.objects.filter(pk__in=first).order_by("name", "id")
        self.fields["member"].help_text = "只列出正式党员（预备党员没有被选举权）。"
        _style(self)


class EndForm(forms.Form):
    ended_on = forms.DateField(label="离任日期", widget=DATE, initial=local_today)
    reason = forms.CharField(label="原因", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class TermStartForm(forms.Form):
    elected_on = forms.DateField(label="选举日期", widget=DATE)
    term_years = forms.IntegerField(
        label="任期（年）",
        min_value=1,
        max_value=10,
        required=False,
        help_text="留空则按组织类别的默认任期（规则参数）",
    )
    note = forms.CharField(label="备注", max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class TermDateForm(forms.Form):
    on = forms.DateField(label="日期", widget=DATE, initial=local_today)

    def __init__(self, *args, label: str = "日期", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].label = label
        _style(self)


class TermExtendForm(forms.Form):
    until = forms.DateField(label="延期至", widget=DATE, help_text="一般不超过任期届满后1年")
    reason = forms.CharField(label="延期原因及批准文件", max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
