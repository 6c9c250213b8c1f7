from __future__ import annotations

import datetime as dt

from django import forms

from apps.core.periods import SHANGHAI
from apps.meetings.models import AttachmentKind, MeetingKind


class PlanForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="会议类型",
        choices=MeetingKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="一次会议可同时计入多种类型（如党员大会+党课+主题党日），每种类型各计1次。",
        error_messages={"required": "请至少选择一种会议类型。"},
    )
    title = forms.CharField(
        label="会议名称/议题", max_length=200, error_messages={"required": "请填写会议名称或议题。"}
    )
    day = forms.DateField(
        label="日期",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请选择日期。", "invalid": "日期格式不正确。"},
    )
    start = forms.TimeField(
        label="开始时间",
        widget=forms.TimeInput(attrs={"type": "time"}),
        initial=dt.time(9, 0),
        error_messages={"required": "请填写开始时间。"},
    )
    end = forms.TimeField(
        label="结束时间",
        widget=forms.TimeInput(attrs={"type": "time"}),
        initial=dt.time(10, 30),
        error_messages={"required": "请填写结束时间。"},
    )
    place = forms.CharField(label="地点", max_length=200, required=False)
    party_group = forms.TypedChoiceField(
        label="党小组（党小组会）", required=False, coerce=int, empty_value=None
    )
    unplanned_reason = forms.CharField(
        label="未事先列入计划的原因（补录时填写）", max_length=300, required=False
    )

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party_group"].choices = [("", "—")] + [(g.pk, g.name) for g in groups]
        for name, field in self.fields.items():
            if name != "kinds":
                field.widget.attrs.setdefault("class", "form-control")
        self.fields["party_group"].widget.attrs["class"] = "form-select"

    def starts_ends(self) -> tuple[dt.datetime, dt.datetime]:
        d = self.cleaned_data
        start = dt.datetime.combine(d["day"], d["start"], tzinfo=SHANGHAI)
        end = dt.datetime.combine(d["day"], d["end"], tzinfo=SHANGHAI)
        return start, end


class RecordForm(forms.Form):
    host = forms.TypedChoiceField(label="主持人", required=False, coerce=int, empty_value=None)
    recorder = forms.TypedChoiceField(label="记录人", required=False, coerce=int, empty_value=None)
    lecturer = forms.TypedChoiceField(
        label="授课人（党课）", required=False, coerce=int, empty_value=None
    )
    lecturer_name = forms.CharField(label="授课人（非本支部）", max_length=60, required=False)
    minutes = forms.CharField(
        label="讨论发言要点", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    decisions = forms.CharField(
        label="决议/决定", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    topics = forms.CharField(
        label="组织生活会主题",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如：对照党章党规，查摆问题、开展批评和自我批评",
    )
    unplanned_reason = forms.CharField(label="未列入计划的原因", max_length=300, required=False)
    reason = forms.CharField(
        label="修改原因（已报送的记录修改后保留原版本）", max_length=300, required=False
    )

    def __init__(self, *args, members=(), locked=False, org_life=False, talk=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(m.pk, m.name) for m in members]
        for name in ("host", "recorder", "lecturer"):
            self.fields[name].choices = choices
            self.fields[name].widget.attrs["class"] = "form-select"
        for name in (
            "lecturer_name",
            "minutes",
            "decisions",
            "topics",
            "unplanned_reason",
            "reason",
        ):
            self.fields[name].widget.attrs["class"] = "form-control"
        if not locked:
            del self.fields["reason"]
        if not org_life:
            del self.fields["topics"]
        if talk:  # 谈心谈话: a lighter record, nobody hosts or lectures
            for name in ("lecturer", "lecturer_name", "decisions"):
                del self.fields[name]
            self.fields["host"].label = "谈话人（可不填）"
            self.fields["recorder"].label = "记录人（可不填）"
            self.fields["minutes"].label = "谈话要点（可不填）"


class VoteForm(forms.Form):
    """A 表决事项 (resolution). Elections go through ElectionForm (all candidates at once)."""

    title = forms.CharField(label="表决事项", max_length=200)
    yes = forms.IntegerField(label="赞成", min_value=0)
    no = forms.IntegerField(label="反对", min_value=0, initial=0)
    abstain = forms.IntegerField(label="弃权", min_value=0, initial=0)


class ElectionForm(forms.Form):
    contest = forms.CharField(
        label="选举职务", max_length=100, initial="支部委员会委员", help_text="如：支部委员会委员"
    )
    seats = forms.IntegerField(label="应选人数", min_value=1, max_value=50)
    candidates = forms.CharField(
        label="候选人及得票",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="每行一名候选人：姓名 赞成票 [反对票] [弃权票]，如“张三 25 2 1”",
    )

    def clean_candidates(self):
        rows = []
        for number, line in enumerate(self.cleaned_data["candidates"].splitlines(), start=1):
            parts = line.replace("，", " ").replace(",", " ").split()
            if not parts:
                continue
            try:
                counts = [int(p) for p in parts[1:4]]
            except ValueError:
                raise forms.ValidationError(
                    f"第{number}行格式有误：应为“姓名 赞成票 [反对票] [弃权票]”。"
                ) from None
            if len(parts) < 2 or len(parts) > 4 or min(counts) < 0:
                raise forms.ValidationError(
                    f"第{number}行格式有误：应为“姓名 赞成票 [反对票] [弃权票]”。"
                )
            counts += [0] * (3 - len(counts))
            rows.append(
                {"title": parts[0], "yes": counts[0], "no": counts[1], "abstain": counts[2]}
            )
        if not rows:
            raise forms.ValidationError("请填写候选人及得票。")
        return rows


class AttachmentForm(forms.Form):
    file = forms.FileField(label="附件（签到表、照片或PDF，≤10MB）")
    kind = forms.ChoiceField(label="类型", choices=AttachmentKind.choices)


class ReviewForm(forms.Form):
    comment = forms.CharField(
        label="审核意见",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class ExemptionForm(forms.Form):
    branch = forms.TypedChoiceField(label="党支部", coerce=int, choices=())
    period_key = forms.CharField(
        label="期间",
        max_length=10,
        help_text="如 2026（全年）、2026-Q1（季度）或 2026-03（月份）",
    )
    kind = forms.ChoiceField(
        label="会议类型", required=False, choices=[("", "全部类型"), *MeetingKind.choices]
    )
    reason = forms.CharField(
        label="原因",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如：新成立、撤并中、重大自然灾害等，须有上级批准",
    )

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [(b.pk, b.name) for b in branches]
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "class", "form-select" if name in ("branch", "kind") else "form-control"
            )
