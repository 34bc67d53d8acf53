"""Administrator settings of quotes (stored with crm.core.config, changed on 报价设置)."""

from __future__ import annotations

from typing import Any

from crm.core.config import setting_default, setting_get

QUOTES = "quotes.settings"

setting_default(
    QUOTES,
    {
        # Numbers look like BJ-2026-000123: prefix, year, a per-prefix-and-year sequence.
        "number_prefix": "BJ",
        "default_validity_days": 30,
        "default_tax_rate": "13",
        "tax_included": True,
        # The printed quote's letterhead.
        "company_name": "",
        "company_address": "",
        "company_phone": "",
        "company_email": "",
        "company_website": "",
        "bank_account": "",
        "default_terms": (
            "1. 交货期：合同生效并收到预付款后 30 个工作日内发货。\n"
            "2. 付款方式：合同签订后预付 30%，发货前付 60%，验收合格后付 10%。\n"
            "3. 质保期：整机质保 12 个月，自验收合格之日起计算。\n"
            "4. 以上报价含包装、运输及现场安装调试费用。"
        ),
    },
)


def quote_settings() -> dict[str, Any]:
    return dict(setting_get(QUOTES))


def company_name_fallback() -> str:
    """The letterhead name: the setting, else the organisation's top department."""
    name = str(quote_settings().get("company_name") or "").strip()
    if name:
        return name
    from crm.access.models import Department

    top = Department.objects.filter(parent__isnull=True).order_by("id").first()
    return top.name if top is not None else ""
