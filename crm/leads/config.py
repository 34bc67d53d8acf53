"""Lead settings administrators change at run time (stored in crm.core SystemSetting)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.core.config import setting_default, setting_get

ASSIGNMENT = "leads.assignment"
CAPTURE = "leads.capture"

# fallback_user_id: who gets a lead no rule matched (None: the leads pool).
setting_default(ASSIGNMENT, {"fallback_user_id": None})
# Submissions of the public forms per client address and minute (0: no limit).
setting_default(CAPTURE, {"rate_per_minute": 5})

SOURCES = [
    _("官网表单"),
    _("电话咨询"),
    _("展会"),
    _("广告投放"),
    _("客户介绍"),
    _("社交媒体"),
    _("邮件营销"),
    _("线下活动"),
    _("其他"),
]

# Optional fields a capture form may ask for (name and one contact channel are always asked).
CAPTURE_FIELDS = [
    ("company", _("公司")),
    ("title", _("职务")),
    ("phone", _("电话")),
    ("wechat", _("微信")),
    ("province", _("省份")),
    ("city", _("城市")),
    ("industry", _("行业")),
    ("notes", _("需求说明")),
]

DISQUALIFY_REASONS = [
    _("联系不上"),
    _("没有需求"),
    _("预算不足"),
    _("不在服务范围"),
    _("同行或骚扰信息"),
    _("重复线索"),
]


def assignment_settings() -> dict[str, Any]:
    value = setting_get(ASSIGNMENT)
    return value if isinstance(value, dict) else {"fallback_user_id": None}


def capture_settings() -> dict[str, Any]:
    value = setting_get(CAPTURE)
    return value if isinstance(value, dict) else {"rate_per_minute": 5}


def source_choices() -> list[str]:
    return [str(s) for s in SOURCES]
