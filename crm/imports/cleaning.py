"""Cleaning rules for imported rows: person names, company names, phones, regions, emails.

Each rule is a pure function from what a cell says to what the CRM stores, plus messages
saying what changed and why (shown per row in the dry-run and final reports). The rules are
switched on and off and tuned by administrators (crm.imports.config); the normalisation
they end in is the customers app's own (crm.customers.normalize), so an imported phone or
company name looks exactly like one typed into a form.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed
from crm.customers.normalize import (
    company_name_clean,
    credit_code_clean,
    email_normalize,
    phone_extract,
)
from crm.customers.paste import EMAIL, WECHAT
from crm.imports.config import rule_on
from crm.imports.regions import RegionResult, region_clean

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CJK_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff·•]+")

# ---------------------------------------------------------------- person names

GENDER_HONORIFICS = ("先生", "女士", "小姐", "太太", "夫人")
# Job titles and forms of address people write after a surname (longest first when matched).
TITLES = (
    "董事长",
    "副总经理",
    "总经理",
    "副总裁",
    "总裁",
    "副总",
    "总监",
    "总工",
    "经理",
    "主任",
    "主管",
    "部长",
    "科长",
    "处长",
    "厂长",
    "院长",
    "校长",
    "局长",
    "书记",
    "老板",
    "老总",
    "工程师",
    "会计",
    "律师",
    "医生",
    "博士",
    "教授",
    "老师",
    "师傅",
    "总",
    "工",
)
# Kinship words used as a form of address (王姐, 李哥): a salutation, not a title.
KIN = ("大哥", "大姐", "姐", "哥", "叔", "阿姨")
NAME_PREFIXES = ("老", "小", "阿")
LATIN_HONORIFICS = re.compile(r"^(mr|mrs|ms|miss|dr|prof)\.?\s+", re.IGNORECASE)
# Words that make a "name" a description of a person ("那个做建材的老李").
DESCRIPTION_WORDS = (
    "那个",
    "这个",
    "那位",
    "这位",
    "的",
    "某",
    "朋友",
    "介绍",
    "同事",
    "客户",
    "老婆",
    "老公",
    "负责",
    "联系",
    "电话",
    "不知道",
    "?",
)
DESCRIPTION_VERBS = ("做", "搞", "卖", "开厂", "开店", "跑")
PLACEHOLDERS = frozenset(
    {"无", "暂无", "没有", "不详", "未知", "-", "--", "/", "n/a", "na", "null", "none", "x", "?"}
)
# Compound surnames: 欧阳娜娜 is a name of four characters, not "欧 + 阳娜娜".
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "令狐", "端木", "西门", "南宫", "独孤", "百里", "呼延",
)  # fmt: skip


@dataclass
class PersonName:
    name: str = ""
    title: str = ""
    salutation: str = ""
    review: str = ""  # why a person must look at it before it is imported
    messages: list[str] = field(default_factory=list)


def _surname_len(name: str) -> int:
    return 2 if name[:2] in COMPOUND_SURNAMES else 1


def person_name_clean(
    value: str, settings: dict[str, Any], *, extra_titles: tuple[str, ...] = ()
) -> PersonName:
    """Honorifics and titles out of the name; descriptions flagged for review.

    王先生 → 王 (称谓 先生); 张总 → 张 (职务 总); 李建国经理 → 李建国 (职务 经理);
    老李 → 李 (称谓 老李); 那个做建材的老李 → review.
    """
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value or "")).strip()
    out = PersonName(name=raw)
    if not raw:
        return out
    if raw.lower() in PLACEHOLDERS:
        out.name = ""
        out.messages.append(_("姓名「%s」是占位符，按空处理") % raw)
        return out
    if not rule_on(settings, "person_names"):
        return out
    text = raw
    # A note in brackets after the name: 张三(采购部) → 职务 采购部.
    bracket = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    if bracket and CJK.search(bracket.group(1)):
        text, note = bracket.group(1).strip(), bracket.group(2).strip()
        out.title = note[:100]
        out.messages.append(_("姓名后括号中的「%s」移到职务") % note[:30])
    low = text.lower()
    why: list[Any] = [w for w in DESCRIPTION_WORDS if w in low]
    if any(ch.isdigit() for ch in text) or "@" in text:
        why.append(_("数字或邮箱"))
    if len(text) > 4:
        why.extend(v for v in DESCRIPTION_VERBS if v in text)
    if why:
        return _review(out, raw, why)
    latin = LATIN_HONORIFICS.match(text)
    if latin:
        out.salutation = latin.group(0).strip()
        text = text[latin.end() :].strip()
    if CJK_ONLY.fullmatch(text):
        before = text
        text = _strip_titles(out, text, extra_titles)
        if len(text) > 4 and "·" not in text and "•" not in text:
            return _review(out, raw, [_("超过 4 个汉字")])
        if text != before:
            moved = [x for x in (out.title, out.salutation) if x]
            out.messages.append(
                _("姓名「%(raw)s」→「%(name)s」，%(moved)s 已移出姓名")
                % {"raw": raw[:30], "name": text, "moved": "、".join(moved)}
            )
        if len(text) <= _surname_len(text):
            out.messages.append(_("姓名只有姓氏「%s」，建议补全") % text)
    out.name = text
    return out


def _review(out: PersonName, raw: str, why: list[Any]) -> PersonName:
    out.review = _("「%(v)s」不像是姓名，像是一段描述（%(why)s），请核实后填写真实姓名") % {
        "v": raw[:40],
        "why": "、".join(list(dict.fromkeys(str(w) for w in why))[:3]),
    }
    return out


def _strip_titles(out: PersonName, text: str, extra_titles: tuple[str, ...]) -> str:
    for word in GENDER_HONORIFICS:
        if text.endswith(word) and len(text) > len(word):
            out.salutation = word
            return text[: -len(word)]
    titles = tuple(sorted((*TITLES, *extra_titles), key=len, reverse=True))
    for word in titles:
        if text.endswith(word) and len(text) > len(word):
            base = text[: -len(word)]
            # One-character titles (总, 工) only after a bare surname: 张总, not 李立工.
            if len(word) == 1 and len(base) > _surname_len(base):
                continue
            if not out.title:
                out.title = word
            else:
                out.salutation = word
            return base
    for word in KIN:
        base = text[: -len(word)]
        if text.endswith(word) and 1 <= len(base) <= _surname_len(base):
            out.salutation = text
            return base
    if len(text) == 2 and text[0] in NAME_PREFIXES:
        out.salutation = text
        return text[1:]
    return text


# ---------------------------------------------------------------- company names

BRANCH_WORDS = "分公司|分部|办事处|分厂|营业部|分店|分行|分所|代表处"
BRANCH_BRACKETED = re.compile(rf"^(.+?)\(([^()]*(?:{BRANCH_WORDS}))\)$")
BRANCH_AFTER_SUFFIX = re.compile(
    rf"^(.+?(?:有限责任公司|股份有限公司|有限公司|公司|集团))([\u4e00-\u9fff]{{2,12}}(?:{BRANCH_WORDS}))$"
)


@dataclass
class CompanyName:
    name: str = ""
    branch: str = ""
    messages: list[str] = field(default_factory=list)


def company_name_tidy(value: str, settings: dict[str, Any]) -> CompanyName:
    """Full-width → half-width, spaces and brackets unified, the legal-form suffix per the
    policy, a branch note ((北京分公司) / 北京分公司 at the end) kept as its own part.

    Raises ValidationFailed when nothing is left (no name)."""
    raw = (value or "").strip()
    if not rule_on(settings, "company_names"):
        return CompanyName(company_name_clean(raw))
    out = CompanyName()
    text = company_name_clean(raw)  # NFKC, brackets (（【[ → (, single spaces; raises if empty
    changes: list[str] = []
    if unicodedata.normalize("NFKC", raw) != raw:
        changes.append(_("全角转半角"))
    tidy = re.sub(r"(?<=[\u4e00-\u9fff()])\s+(?=[\u4e00-\u9fff()])", "", text)
    tidy = re.sub(r"\s*\(\s*", "(", tidy)
    tidy = re.sub(r"\s*\)\s*", ")", tidy).strip()
    if tidy != text or re.sub(r"\s+", " ", raw) != raw:
        changes.append(_("去除多余空格"))
    if re.search(r"[（）【】\[\]]", raw):
        changes.append(_("统一括号"))
    base = tidy
    branch = BRANCH_BRACKETED.match(tidy) or BRANCH_AFTER_SUFFIX.match(tidy)
    if branch and len(branch.group(1)) >= 2:
        base, out.branch = branch.group(1).strip(), branch.group(2).strip()
    policy = settings.get("company_suffix") or "keep"
    if policy == "youxian" and base.endswith("有限责任公司"):
        base = base[: -len("有限责任公司")] + "有限公司"
        changes.append(_("后缀「有限责任公司」→「有限公司」"))
    elif (
        policy == "youxian_zeren"
        and base.endswith("有限公司")
        and not base.endswith(("股份有限公司", "有限责任公司"))
    ):
        base = base[: -len("有限公司")] + "有限责任公司"
        changes.append(_("后缀「有限公司」→「有限责任公司」"))
    out.name = f"{base}({out.branch})" if out.branch else base
    if out.branch:
        changes.append(_("分支机构「%s」单独保留，不与总公司合并") % out.branch)
    if changes and out.name != raw:
        out.messages.append(
            _("公司名「%(raw)s」→「%(name)s」（%(why)s）")
            % {"raw": raw[:60], "name": out.name[:60], "why": "、".join(str(c) for c in changes)}
        )
    if len(out.name) > 200:
        raise ValidationFailed(_("客户名称不能超过 200 个字符"), field="name")
    return out


# ---------------------------------------------------------------- phones

WECHAT_SAME = re.compile(r"(微信|vx|wx|v信|weixin|wechat)\s*同号|同微信|微信同", re.IGNORECASE)
PHONE_LABELS = re.compile(
    r"(手机号?|电话|座机|固话|办公室?|移动电话|联系方式|tel|mobile|phone|cell|m|t)\s*[:：]?",
    re.IGNORECASE,
)
NOTE_TRIM = " ,，;；、/|()（）[]【】:：-_.。"


@dataclass
class Phones:
    mobile: str = ""  # E.164
    mobile_raw: str = ""
    phone: str = ""
    phone_raw: str = ""
    others: list[str] = field(default_factory=list)  # more numbers than the two fields hold
    wechat: str = ""
    notes: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def phones_clean(cells: list[tuple[str, str]], settings: dict[str, Any]) -> Phones:
    """Numbers out of the phone cells [(column label, text)]: the first mobile to `mobile`, the
    first landline to `phone`, more numbers to `others`; "微信同号" makes the mobile the WeChat
    id too; text that is no number is kept as a note; invalid numbers are reported."""
    out = Phones()
    extract = rule_on(settings, "phones")
    for label, text in cells:
        text = (text or "").strip()
        if not text:
            continue
        if not extract:
            from crm.customers.normalize import phone_normalize

            try:
                e164, raw = phone_normalize(text)
            except ValidationFailed:
                out.invalid.append(text[:40])
                continue
            if not out.mobile and e164.startswith("+861"):
                out.mobile, out.mobile_raw = e164, raw
            elif not out.phone:
                out.phone, out.phone_raw = e164, raw
            else:
                out.others.append(e164)
            continue
        found = phone_extract(text)
        mobiles = [n for n in found.numbers if n.mobile]
        for number in found.numbers:
            if number.mobile and not out.mobile:
                out.mobile, out.mobile_raw = number.e164, number.raw[:100]
            elif not number.mobile and not out.phone:
                out.phone, out.phone_raw = number.e164, number.raw[:100]
            elif number.e164 not in (out.mobile, out.phone, *out.others):
                out.others.append(number.e164)
        out.invalid.extend(found.invalid)
        rest = found.rest
        wechat_id = WECHAT.search(rest)
        if wechat_id and not out.wechat:
            out.wechat = wechat_id.group(1)
            rest = rest.replace(wechat_id.group(0), " ")
            out.messages.append(
                _("「%(l)s」中的微信号 %(w)s 已记为微信") % {"l": label, "w": out.wechat}
            )
        if WECHAT_SAME.search(rest) and mobiles and not out.wechat:
            out.wechat = mobiles[0].raw.replace(" ", "").replace("-", "")[-11:]
            out.messages.append(_("「微信同号」：微信记为 %s") % out.wechat)
        note = PHONE_LABELS.sub(" ", rest) if found.numbers else rest
        note = re.sub(r"\s+", " ", note).strip(NOTE_TRIM + " ")
        if note:
            out.notes.append(f"{label}：{note}" if found.numbers or found.invalid else note)
            if not found.numbers and not found.invalid:
                out.messages.append(
                    _("「%(l)s」没有号码：「%(t)s」已记入备注") % {"l": label, "t": note[:40]}
                )
    for bad in out.invalid:
        out.messages.append(_("号码无效或不完整，未导入：%s") % bad[:40])
    if out.others:
        out.notes.append(_("其他电话：%s") % "、".join(out.others))
        out.messages.append(_("多出的号码记入备注：%s") % "、".join(out.others))
    return out


# ---------------------------------------------------------------- emails


@dataclass
class Emails:
    email: str = ""
    others: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def emails_clean(cells: list[str], settings: dict[str, Any]) -> Emails:
    out = Emails()
    validate = rule_on(settings, "emails")
    for text in cells:
        text = unicodedata.normalize("NFKC", text or "").strip()
        if not text:
            continue
        pieces = [p.strip(" <>\"'") for p in re.split(r"[;,，；\s]+", text) if p.strip(" <>\"'")]
        for piece in pieces:
            if not validate:
                value = piece.lower()
            else:
                try:
                    value = email_normalize(piece)
                except ValidationFailed:
                    out.invalid.append(piece[:100])
                    continue
            if not out.email:
                out.email = value
            elif value != out.email and value not in out.others:
                out.others.append(value)
    for bad in out.invalid:
        out.messages.append(_("邮箱「%s」格式无效，未写入邮箱字段（原文记入备注）") % bad[:60])
    if out.others:
        out.messages.append(_("多出的邮箱记入备注：%s") % "、".join(out.others))
    return out


def emails_in(text: str) -> list[str]:
    return EMAIL.findall(text or "")


# ---------------------------------------------------------------- regions


def regions_clean(province: str, city: str, address: str, settings: dict[str, Any]) -> RegionResult:
    if not rule_on(settings, "regions"):
        return RegionResult((province or "").strip(), (city or "").strip())
    return region_clean(province, city, address)


# ---------------------------------------------------------------- small values

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%m/%d/%Y",
    "%d.%m.%Y",
)
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def date_parse(value: str) -> dt.date | None:
    """2024-01-02, 2024/1/2, 2024年1月2日, 20240102 (→ a date); '' → None; else ValueError."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return None
    text = re.sub(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "", text)
    text = text.replace("号", "日")
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # an Excel serial number that lost its format
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))
    raise ValueError(text)


def datetime_parse(value: str) -> dt.datetime | None:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return None
    for fmt in DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    day = date_parse(text)
    return dt.datetime.combine(day, dt.time(9, 0)) if day else None


def choice_match(value: str, choices: list[tuple[str, Any]]) -> str | None:
    """A choice's value from its value or its label (case-insensitive); None when unknown."""
    text = unicodedata.normalize("NFKC", value or "").strip().lower()
    if not text:
        return ""
    for key, label in choices:
        if text in (str(key).lower(), str(label).lower()):
            return str(key)
    return None


def level_match(value: str, levels: list[str]) -> str | None:
    """A customer level from "A", "a", "A级", "A类" …; None when it is not one of `levels`."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        return ""
    for level in levels:
        if text.lower() == level.lower():
            return level
    stripped = re.sub(r"(级|类|級)(客户)?$", "", text).strip()
    for level in levels:
        if stripped.lower() == level.lower():
            return level
    return None


def text_fit(value: str, limit: int) -> str:
    """Trimmed text; callers check the limit (the service's own rule reports it)."""
    return re.sub(r"[ \t]+", " ", (value or "").strip())[: max(limit, 0) or None]


def credit_code_try(value: str) -> tuple[str, str]:
    """(code, problem): a code the check digit accepts, or '' and why not."""
    try:
        return credit_code_clean(value), ""
    except ValidationFailed as exc:
        return "", exc.message
