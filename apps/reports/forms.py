from __future__ import annotations

from django import forms

from apps.core.periods import Period, PeriodKind


class BuildForm(forms.Form):
    org = forms.IntegerField(widget=forms.HiddenInput)
    quarter = forms.CharField(label="季度")
    scope = forms.ChoiceField(
        label="范围", choices=[("self", "本组织"), ("subtree", "本组织及全部下级")]
    )

    def clean_quarter(self) -> Period:
        try:
            period = Period.parse(self.cleaned_data["quarter"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if period.kind != PeriodKind.QUARTER:
            raise forms.ValidationError("请选择季度（如 2026-Q3）。")
        if period > Period.current(PeriodKind.QUARTER):
            raise forms.ValidationError("不能生成尚未开始的季度的报告。")
        return period
