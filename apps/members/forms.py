"""Forms: validation of input shapes only; the rules live in services."""

from __future__ import annotations

from django import forms

from apps.members.models import (
    ConfirmationDecision,
    Education,
    Gender,
    ManagementStatus,
    Member,
    MemberStatus,
    Occupation,
    PaymentMode,
    RemovalKind,
    Step,
)
from apps.members.rules import DuesKind

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"})


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            continue
        css = (
            "form-select"
            if isinstance(widget, forms.Select | forms.SelectMultiple)
            else "form-control"
        )
        widget.attrs.setdefault("class", css)


class BootstrapForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class SearchForm(BootstrapForm):
    q = forms.CharField(
        label="搜索",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "姓名或身份证号后4位"}),
    )
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "党员（全部在册）"), *MemberStatus.choices]
    )
    occupation = forms.ChoiceField(
        label="人员类别", required=False, choices=[("", "全部类别"), *Occupation.choices]
    )
    management_status = forms.ChoiceField(
        label="管理状态", required=False, choices=[("", "全部管理状态"), *ManagementStatus.choices]
    )
    org = forms.IntegerField(required=False, widget=forms.HiddenInput)


class MemberForm(forms.ModelForm):
    id_number = forms.CharField(
        label="公民身份号码",
        required=False,
        max_length=18,
        help_text="18位，最后一位可为X；出生日期和性别须与号码一致。",
    )
    phone = forms.CharField(label="联系电话", required=False, max_length=20)

    class Meta:
        model = Member
        fields = [
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "education",
            "occupation",
            "work_unit",
            "post",
            "party_group",
            "management_status",
            "abroad_since",
            "lost_contact_since",
            "mobile_out_to",
            "mobile_in_from",
            "is_center_household",
            "joined_on",
            "confirmed_on",
            "leaving_unit_on",
            "photo",
        ]
        widgets = {
            f: DATE
            for f in (
                "birth_date",
                "joined_on",
                "confirmed_on",
                "leaving_unit_on",
                "abroad_since",
                "lost_contact_since",
            )
        }

    def __init__(self, *args, branch=None, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.organizations.models import Org, OrgType

        group_qs = (
            Org.objects.filter(org_type=OrgType.PARTY_GROUP, parent=branch)
            if branch
            else Org.objects.none()
        )
        self.fields["party_group"].queryset = group_qs
        self.fields["id_number"].initial = ""
        _bootstrap(self)

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("photo", None)
        return data


class StatusCreateForm(forms.Form):
    status = forms.ChoiceField(
        label="党员状态",
        choices=[
            (s, MemberStatus(s).label) for s in (MemberStatus.FULL, MemberStatus.PROBATIONARY)
        ],
    )


class LifecycleForm(BootstrapForm):
    on = forms.DateField(label="日期", widget=DATE)
    reason = forms.CharField(
        label="原因/依据", required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    months = forms.IntegerField(label="延长月数（6–12）", required=False, min_value=1, max_value=24)
    kind = forms.ChoiceField(
        label="出党方式", required=False, choices=[("", "—"), *RemovalKind.choices]
    )
    deciding_org = forms.TypedChoiceField(
        label="决定组织", required=False, coerce=int, empty_value=None, choices=[]
    )

    def __init__(self, *args, member: Member | None = None, approval: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            deciding_org_field(self.fields["deciding_org"], member, approval=approval)


def deciding_org_field(field, member: Member, *, approval: bool) -> None:
    """Choices: the member's branch and its superiors; empty means the default."""
    from apps.members import services

    default = services.deciding_org_default(member, approval=approval)
    field.choices = [
        ("", f"默认：{default.name}"),
        *[(o.pk, o.name) for o in services.deciding_org_choices(member)],
    ]
    field.help_text = "上级党委审批的事项默认为上级党委，其余默认为本支部。"


ACTIONS = {
    "confirm": ("按期转正", ["on", "reason", "deciding_org"]),
    "extend": ("延长预备期", ["on", "months", "reason", "deciding_org"]),
    "cancel": ("取消预备党员资格", ["on", "reason", "deciding_org"]),
    "suspend": ("停止党籍", ["on", "reason", "deciding_org"]),
    "restore": ("恢复党籍", ["on", "reason", "deciding_org"]),
    "remove": ("出党", ["on", "kind", "reason", "deciding_org"]),
    "decease": ("去世", ["on", "reason", "deciding_org"]),
    "lost_contact": ("登记失联", ["on", "reason"]),
}


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("id_number", "公民身份号码"), ("phone", "联系电话")])
    reason = forms.CharField(max_length=200)


class ApplyForm(BootstrapForm):
    name = forms.CharField(label="姓名", max_length=64)
    gender = forms.ChoiceField(label="性别", choices=Gender.choices)
    id_number = forms.CharField(label="公民身份号码", max_length=18, required=False)
    birth_date = forms.DateField(label="出生日期", required=False, widget=DATE)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    education = forms.ChoiceField(
        label="学历", required=False, choices=[("", "—"), *Education.choices]
    )
    occupation = forms.ChoiceField(
        label="人员类别", required=False, choices=[("", "—"), *Occupation.choices]
    )
    work_unit = forms.CharField(label="工作单位", max_length=120, required=False)
    applied_on = forms.DateField(label="递交申请书日期", widget=DATE)


_PUBLICITY = ("publicity_from", "publicity_to")
_VOTE = ("expected_voting", "attended_voting", "votes_for")
# The facts each development step records beyond its date and note (what the rules of
# services.development_problems read).
STEP_EXTRA_FIELDS: dict[int, tuple[str, ...]] = {
    Step.ACTIVIST_CHOSEN: _PUBLICITY,
    Step.MENTORS: ("people",),
    Step.CANDIDATE_CHOSEN: _PUBLICITY,
    Step.SPONSORS: ("people",),
    Step.TRAINING: ("training_days", "training_hours"),
    Step.ADMISSION_MEETING: (*_PUBLICITY, *_VOTE),
    Step.ADMISSION_APPROVAL: ("late_reason",),
    Step.CONFIRMATION_MEETING: ("decision", "extension_months", *_PUBLICITY, *_VOTE),
    Step.CONFIRMATION_APPROVAL: ("late_reason",),
}
PEOPLE_LABELS = {
    Step.MENTORS: "培养联系人（1–2名正式党员）",
    Step.SPONSORS: "入党介绍人（2名正式党员）",
}


class StepForm(BootstrapForm):
    step = forms.TypedChoiceField(label="步骤", coerce=int, choices=Step.choices)
    done_on = forms.DateField(label="日期", widget=DATE)
    people = forms.ModelMultipleChoiceField(
        label="培养联系人/入党介绍人",
        required=False,
        queryset=Member.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    publicity_from = forms.DateField(label="公示开始", required=False, widget=DATE)
    publicity_to = forms.DateField(label="公示结束", required=False, widget=DATE)
    training_days = forms.DecimalField(
        label="培训天数", required=False, min_value=0, max_digits=5, decimal_places=1
    )
    training_hours = forms.DecimalField(
        label="培训学时", required=False, min_value=0, max_digits=6, decimal_places=1
    )
    expected_voting = forms.IntegerField(label="应到会有表决权党员", required=False, min_value=0)
    attended_voting = forms.IntegerField(label="实到会有表决权党员", required=False, min_value=0)
    votes_for = forms.IntegerField(label="赞成票", required=False, min_value=0)
    decision = forms.ChoiceField(
        label="转正决定", required=False, choices=[("", "—"), *ConfirmationDecision.choices]
    )
    extension_months = forms.IntegerField(
        label="延长月数", required=False, min_value=1, max_value=24
    )
    late_reason = forms.CharField(label="逾期/延长说明", required=False, max_length=300)
    note = forms.CharField(label="说明", required=False, max_length=300)
    deciding_org = forms.TypedChoiceField(
        label="决定组织", required=False, coerce=int, empty_value=None, choices=[]
    )

    def __init__(self, *args, member: Member | None = None, step: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if step is not None:
            # One page per step: show only what that step needs (a phone form of 3 fields,
            # not 14). The step itself comes from the page.
            self.fields["step"].widget = forms.HiddenInput()
            keep = {"step", "done_on", "note", "deciding_org", *STEP_EXTRA_FIELDS.get(step, ())}
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
            if step in PEOPLE_LABELS:
                self.fields["people"].label = PEOPLE_LABELS[step]
        if member is not None:
            from apps.members.services import APPROVAL_STEPS

            deciding_org_field(self.fields["deciding_org"], member, approval=step in APPROVAL_STEPS)
        if member is not None and "people" in self.fields:
            self.fields["people"].queryset = (
                Member.objects.filter(branch=member.branch, status=MemberStatus.FULL)
                .exclude(pk=member.pk)
                .order_by("name")
            )

    def facts(self) -> dict:
        data = dict(self.cleaned_data)
        for key in ("step", "done_on", "people", "deciding_org"):
            data.pop(key, None)
        return {k: v for k, v in data.items() if v not in (None, "")}


class DuesBaseForm(BootstrapForm):
    year = forms.IntegerField(label="年度", min_value=1990, max_value=2100)
    kind = forms.ChoiceField(label="交纳类别", choices=DuesKind.choices)
    base = forms.DecimalField(
        label="月计算基数（元）", required=False, min_value=0, max_digits=10, decimal_places=2
    )


class PaymentForm(BootstrapForm):
    months = forms.CharField(label="所交月份", help_text="如 2026-07，多个用逗号分隔")
    paid_on = forms.DateField(label="交纳日期", widget=DATE)
    mode = forms.ChoiceField(label="方式", choices=PaymentMode.choices)
    paid_by = forms.CharField(label="代交人", required=False, max_length=64)
    extra = forms.DecimalField(
        label="自愿多交（元）", required=False, min_value=0, max_digits=10, decimal_places=2
    )

    def clean_months(self):
        import datetime as dt

        out = []
        for part in self.cleaned_data["months"].replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                year, month = part.split("-")[:2]
                out.append(dt.date(int(year), int(month), 1))
            except ValueError:
                raise forms.ValidationError(f"无法识别的月份：{part}") from None
        return out


class TransferForm(BootstrapForm):
    kind = forms.ChoiceField(
        label="类型", choices=[("internal", "平台内转接"), ("out_letter", "转出平台（介绍信）")]
    )
    applied_on = forms.DateField(label="申请日期", widget=DATE)
    target_org = forms.IntegerField(label="转入党组织编号", required=False)
    external_org = forms.CharField(label="平台外党组织", required=False, max_length=120)
    reason = forms.CharField(label="原因", required=False, max_length=200)


class StudyForm(BootstrapForm):
    course = forms.CharField(label="课程/活动", max_length=120)
    held_on = forms.DateField(label="日期", widget=DATE)
    hours = forms.DecimalField(label="学时", max_digits=5, decimal_places=1)
    source = forms.CharField(label="来源", required=False, max_length=60)


class ContactForm(BootstrapForm):
    contacted_on = forms.DateField(label="联系日期", widget=DATE)
    way = forms.CharField(
        label="方式", required=False, max_length=40, help_text="如：电话、微信、走访"
    )
    note = forms.CharField(
        label="情况", required=False, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class PendingResolveForm(BootstrapForm):
    resolution = forms.CharField(label="处理结果", max_length=300)


class ImportForm(forms.Form):
    file = forms.FileField(label="花名册（.xlsx）")


class ExportForm(BootstrapForm):
    reveal = forms.BooleanField(label="导出完整身份证号和电话（需权限并说明原因）", required=False)
    reason = forms.CharField(label="原因", required=False, max_length=200)


__all__ = ["ACTIONS", "ManagementStatus"]


MONTH = forms.DateInput(attrs={"type": "month", "class": "form-control"}, format="%Y-%m")


class WaiverForm(BootstrapForm):
    """困难党员少交或免交 (DOMAIN §4.2): the branch proposes, the superior committee decides."""

    first_month = forms.DateField(
        label="起始月份", widget=MONTH, input_formats=["%Y-%m", "%Y-%m-%d"]
    )
    last_month = forms.DateField(
        label="截止月份", widget=MONTH, input_formats=["%Y-%m", "%Y-%m-%d"]
    )
    monthly_amount = forms.DecimalField(
        label="每月交纳（元）",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        help_text="0 表示免交",
    )
    reason = forms.CharField(
        label="原因",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如：生活困难、长期患病，并注明支委会研究情况",
    )
