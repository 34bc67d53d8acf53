"""Input validation of the backup page; the rules are in crm.backup.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.customers.forms import DomainErrorFormMixin


class BackupSettingsForm(DomainErrorFormMixin, forms.Form):
    field_aliases = {"time": "time_of_day"}

    enabled = forms.BooleanField(
        label=_("每天自动备份"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    time_of_day = forms.CharField(
        label=_("备份时间"),
        max_length=5,
        widget=forms.TimeInput(attrs={"class": "form-control", "type": "time"}),
        help_text=_("每天的这个时间（本地时间）开始备份；建议选在夜间。"),
    )
    keep = forms.IntegerField(
        label=_("保留份数（天）"),
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
        help_text=_("保留最近 N 天每天最新的一份，更早的自动删除。"),
    )
    directory = forms.CharField(
        label=_("备份目录"),
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"class": "form-control font-monospace"}),
        help_text=_(
            "服务器上的绝对路径；留空则为数据目录下的 backups。最好是另一块磁盘或网络存储。"
        ),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
