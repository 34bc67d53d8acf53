"""Input of the merge form: which customer survives and, per differing field, whose value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

SIDES = [("a", "A"), ("b", "B")]


class MergeForm(forms.Form):
    a = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    b = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    a_version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    b_version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)
    pair = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    survivor = forms.ChoiceField(label=_("保留哪一个客户"), choices=SIDES, widget=forms.RadioSelect)

    def __init__(self, *args: Any, fields: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choice_fields = list(fields or [])
        for name in self.choice_fields:
            self.fields[f"f_{name}"] = forms.ChoiceField(
                choices=SIDES, required=False, widget=forms.RadioSelect
            )

    def choices(self) -> dict[str, str]:
        """{field: "a"|"b"} relative to the survivor, as customer_merge wants them."""
        survivor = self.cleaned_data["survivor"]
        out: dict[str, str] = {}
        for name in self.choice_fields:
            side = self.cleaned_data.get(f"f_{name}")
            if side in ("a", "b"):
                out[name] = "a" if side == survivor else "b"
        return out


class DismissForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
