"""Administrator settings of the customers app (stored with crm.core.config)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.core.config import setting_default, setting_get

LEVELS = "customers.levels"
COMPLETENESS = "customers.completeness_fields"
POOL = "customers.pool"
SOURCES = "customers.sources"

setting_default(LEVELS, ["A", "B", "C"])
setting_default(SOURCES, ["官网", "展会", "转介绍", "电话营销", "广告", "合作伙伴", "其他"])
# Key fields for 信息完整率: customer fields, "contact" (has a contact), "contact_phone"
# (a contact with a mobile or phone), "tags", and custom fields as "custom.<key>".
setting_default(
    COMPLETENESS,
    ["credit_code", "industry", "level", "province", "city", "address", "contact", "contact_phone"],
)
setting_default(
    POOL,
    {
        "enabled": True,
        "protection_days": 30,  # a newly owned customer is never returned within this period
        "no_follow_up_days": 30,  # returned when not followed up for N days
        "no_won_days": 180,  # returned when owned M days with no won deal
        "claim_limit": 200,  # a rep owns at most this many customers
    },
)

COMPLETENESS_CHOICES: list[tuple[str, Any]] = [
    ("credit_code", _("统一社会信用代码")),
    ("industry", _("行业")),
    ("level", _("客户级别")),
    ("source", _("客户来源")),
    ("province", _("省份")),
    ("city", _("城市")),
    ("address", _("详细地址")),
    ("website", _("网址")),
    ("tags", _("标签")),
    ("contact", _("至少一位联系人")),
    ("contact_phone", _("联系人有电话")),
    ("contact_email", _("联系人有邮箱")),
    ("decision_maker", _("已知决策人")),
]


def levels() -> list[str]:
    return [str(v) for v in setting_get(LEVELS) or []]


def sources() -> list[str]:
    return [str(v) for v in setting_get(SOURCES) or []]


def completeness_fields() -> list[str]:
    return [str(v) for v in setting_get(COMPLETENESS) or []]


def pool_rules() -> dict[str, Any]:
    return dict(setting_get(POOL))
