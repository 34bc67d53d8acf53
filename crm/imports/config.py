"""Administrator settings of imports (stored with crm.core.config): limits and cleaning rules."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.core.config import setting_default, setting_get

SETTINGS = "imports.settings"

SUFFIX_POLICIES: list[tuple[str, Any]] = [
    ("keep", _("保持原样")),
    ("youxian", _("统一为「有限公司」（有限责任公司 → 有限公司）")),
    ("youxian_zeren", _("统一为「有限责任公司」（有限公司 → 有限责任公司，股份有限公司除外）")),
]

RULES: list[tuple[str, Any, Any]] = [
    (
        "person_names",
        _("人名：称谓移出姓名"),
        _(
            "「王先生」→ 姓名 王、称谓 先生；「张总」→ 职务 总；像描述的姓名（那个做建材的老李）标为需核实，不导入"
        ),
    ),
    (
        "company_names",
        _("公司名：全角转半角、统一空格和括号"),
        _("（北京分公司）等分支机构说明保留为单独部分，不与总公司合并"),
    ),
    (
        "phones",
        _("电话：从文字中提取号码"),
        _("一格可含多个号码；「微信同号」同时记为微信号；无效号码报告且不导入；其余文字记入备注"),
    ),
    (
        "regions",
        _("地区：省市规范化"),
        _("北京市 → 北京；广东省深圳市 → 广东 / 深圳；省市为空时从地址识别"),
    ),
    ("emails", _("邮箱：校验格式"), _("无效邮箱报告且不写入邮箱字段（原文记入备注）")),
]

setting_default(
    SETTINGS,
    {
        "max_file_mb": 50,
        "max_rows": 200_000,
        "max_cell_chars": 5_000,
        "rules": {key: True for key, _l, _h in RULES},
        "company_suffix": "keep",
        # Extra words people put after a surname (公司里的叫法): 张工, 李会计 …
        "extra_titles": [],
        # A fuzzy candidate at or above this score (0–100) holds the row back for review.
        "fuzzy_threshold": 85,
    },
)


def import_settings() -> dict[str, Any]:
    value = dict(setting_get(SETTINGS))
    rules = {key: True for key, _l, _h in RULES}
    rules.update(value.get("rules") or {})
    value["rules"] = rules
    return value


def rule_on(settings: dict[str, Any], key: str) -> bool:
    return bool((settings.get("rules") or {}).get(key, True))
