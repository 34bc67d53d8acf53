"""The forecast's filter form (input parsing only; the selectors check the values)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forecast.selectors import (
    GROUPS,
    PERIODS,
    forecast_owner_choices,
    forecast_pipeline_choices,
    forecast_team_choices,
)


class ForecastFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("期间"),
        choices=list(PERIODS.items()),
        required=False,
        widget=forms.Select(attrs={"class": "form-select", "data-forecast-period": ""}),
    )
    month_from = forms.CharField(
        label=_("开始月份"),
        required=False,
        widget=forms.DateInput(attrs={"type": "month", "class": "form-control"}),
    )
    month_to = forms.CharField(
        label=_("结束月份"),
        required=False,
        widget=forms.DateInput(attrs={"type": "month", "class": "form-control"}),
    )
    group = forms.ChoiceField(
        label=_("分组"),
        choices=list(GROUPS.items()),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    team = forms.ChoiceField(
        label=_("团队"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    owner = forms.ChoiceField(
        label=_("销售"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )
    pipeline = forms.ChoiceField(
        label=_("销售流程"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = forecast_team_choices(actor=actor)
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", _("全部团队"))] + [
            (str(pk), "\u3000" * max(depth - 1, 0) + name) for pk, name, depth in teams
        ]
        chosen = self.data.get("owner") if self.is_bound else None
        owners = forecast_owner_choices(actor=actor, include=chosen)
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            ("", _("全部销售")),
            ("me", _("我自己")),
        ] + [(str(u.pk), u.name) for u in owners if u.pk != actor.pk]
        cast(forms.ChoiceField, self.fields["pipeline"]).choices = [("", _("全部流程"))] + [
            (str(pk), name) for pk, name in forecast_pipeline_choices(actor=actor)
        ]
        self.show_people = len(owners) > 1 or bool(teams)
        self.show_teams = len(teams) > 1

    def value(self, name: str) -> str:
        """The raw submitted value (the selectors validate it and name the field)."""
        if not self.is_bound:
            return ""
        return str(self.data.get(name) or "").strip()
